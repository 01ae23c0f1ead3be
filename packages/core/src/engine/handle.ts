/**
 * A typed handle on one run: what `start` returns and `client.handle` makes.
 * It carries the workflow the run belongs to, so `result()` is typed by the
 * workflow's output and `signal()` checks names against its definition.
 */
import type { SignalDefinition } from "../builder/signal.js";
import type { Workflow } from "../builder/workflow.js";
import type { Duration } from "../duration.js";
import { UnknownInstanceError, ValidationError } from "../errors.js";
import type { ControlResult } from "../store/types.js";
import type { RunEvent } from "../store/history.js";
import type { DurableClient, RunView, SendSignalOptions } from "./client.js";

/**
 * A run of a workflow whose output is `Output`. Made by `start` (which knows
 * the run belongs to the workflow) or by `client.handle(workflow, id)`, which
 * reads nothing: the first call made through such a handle checks that the run
 * is a run of `workflow` and throws `ValidationError` when it is not (then every
 * call does), so a handle made for a run not started yet works once it is.
 */
export class RunHandle<Output = unknown> {
  /** The instance id. */
  readonly id: string;
  /** The workflow's name. */
  readonly workflow: string;
  /** False when `start` found a run with this id and returned it instead; true for `client.handle`. */
  readonly created: boolean;
  private checked: Promise<void> | null;

  /** @internal use `client.start` or `client.handle` */
  constructor(
    private readonly client: DurableClient,
    private readonly definition: Workflow<never, Output>,
    id: string,
    options: { readonly created: boolean; readonly verified: boolean },
  ) {
    this.id = id;
    this.workflow = definition.name;
    this.created = options.created;
    this.checked = options.verified ? Promise.resolve() : null;
  }

  /**
   * Waits for the run to finish and returns its output.
   * @throws RunFailedError (cause: the task's error), CancelledError, ResultTimeoutError, UnknownInstanceError, ValidationError
   */
  async result(options: { readonly timeout?: Duration } = {}): Promise<Output> {
    await this.verify();
    return this.client.result<Output>(this.id, options);
  }

  /** The run with its committed steps. @throws UnknownInstanceError, ValidationError */
  async status(): Promise<RunView> {
    await this.verify();
    return this.client.status(this.id);
  }

  /** What happened to the run, oldest first; see `DurableClient.history`. @throws UnknownInstanceError, ValidationError */
  async history(): Promise<readonly RunEvent[]> {
    await this.verify();
    return this.client.history(this.id);
  }

  /**
   * Sends a signal to the run, checked against the handle's workflow when the
   * client has no definition of its own; see `DurableClient.signal` for the
   * checks and failure semantics.
   * @throws UnexpectedSignalError, ValidationError, UnknownInstanceError, RunFinishedError, CodecError, PayloadTooLargeError
   */
  async signal<P>(signal: SignalDefinition<P, unknown>, payload: P, options?: SendSignalOptions): Promise<void>;
  async signal(name: string, payload?: unknown, options?: SendSignalOptions): Promise<void>;
  async signal(signal: SignalDefinition | string, payload?: unknown, options: SendSignalOptions = {}): Promise<void> {
    await this.verify();
    await this.client.sendSignal(this.id, signal, payload, options, this.definition as Workflow);
  }

  /** Cancels the run; see `DurableClient.cancel`. @throws RunFinishedError, ValidationError */
  async cancel(): Promise<ControlResult> {
    await this.verify();
    return this.client.cancel(this.id);
  }

  /** Pauses the run; see `DurableClient.pause`. @throws RunFinishedError, ValidationError */
  async pause(): Promise<ControlResult> {
    await this.verify();
    return this.client.pause(this.id);
  }

  /** Lets a paused run go on; see `DurableClient.resume`. @throws RunFinishedError, ValidationError */
  async resume(): Promise<ControlResult> {
    await this.verify();
    return this.client.resume(this.id);
  }

  /** A plain object for logs and JSON: the id, workflow and whether `start` created the run. */
  toJSON(): { readonly id: string; readonly workflow: string; readonly created: boolean } {
    return { id: this.id, workflow: this.workflow, created: this.created };
  }

  /** Checks once that the run belongs to the handle's workflow; a run not found yet is looked for again next time. */
  private verify(): Promise<void> {
    this.checked ??= this.client.workflowOf(this.id).then(
      (workflow) => {
        if (workflow !== this.workflow) {
          throw new ValidationError(`run "${this.id}" is a run of workflow "${workflow}", not of "${this.workflow}"`, {
            instanceId: this.id,
            workflow: this.workflow,
            actual: workflow,
          });
        }
      },
      (error: unknown) => {
        if (error instanceof UnknownInstanceError) this.checked = null;
        throw error;
      },
    );
    return this.checked;
  }
}
