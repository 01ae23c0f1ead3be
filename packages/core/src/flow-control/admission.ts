/**
 * One run session's side of flow control: the limit keys of its run and steps, the slots it
 * holds (renewed with its lease, given back when it lets go), and the wake-ups of the waiters
 * a freed slot lets in. The executor calls it at three hooks: before the walk (the run's own
 * limits), around each task attempt (the task's limits), and after a park on a slot wait.
 */
import { ValidationError } from "../errors.js";
import { type ConcurrencySpec, priorityValue, type RateSpec } from "./options.js";
import { type FlowControl, type SlotHold, type SlotRequest, slotWaitKey } from "./types.js";

/** A limit as it applies to one run or step: its key and the request to admit. */
export interface Gate {
  readonly request: SlotRequest;
  /** The key of the wait the run parks on when refused. */
  readonly waitKey: string;
}

/**
 * The limit key of `spec` for `input`: `<scope>:<name>`, or `<scope>:<name>:<key>` with a key function.
 * @throws ValidationError naming `where` when the key function throws or answers anything but a non-empty string.
 */
export function limitKey(scope: "flow" | "task", name: string, spec: ConcurrencySpec | RateSpec, input: unknown, where: string): string {
  if (spec.key === null) return `${scope}:${name}`;
  let key: unknown;
  try {
    key = spec.key(input);
  } catch (e) {
    throw new ValidationError(`${where}: the limit's key function threw: ${(e as Error)?.message ?? String(e)}`, { cause: e });
  }
  if (typeof key !== "string" || key === "") {
    throw new ValidationError(
      `${where}: the limit's key function must return a non-empty string, got ${typeof key === "string" ? '""' : typeof key}`,
    );
  }
  return `${scope}:${name}:${key}`;
}

/** A run's priority from its workflow's `priority` option. @throws ValidationError naming the workflow when a function answers out of range or throws. */
export function runPriority(priority: number | ((input: unknown) => unknown) | undefined, input: unknown, workflow: string): number {
  if (priority === undefined) return 0;
  if (typeof priority === "number") return priority;
  let value: unknown;
  try {
    value = priority(input);
  } catch (e) {
    throw new ValidationError(`flow "${workflow}": the priority function threw: ${(e as Error)?.message ?? String(e)}`, { cause: e });
  }
  return priorityValue(value, `flow "${workflow}": priority`);
}

export class RunSlots {
  /** Slots held now, by holder, with their limit's size (a release answers up to that many waiters). */
  private readonly held = new Map<string, { readonly hold: SlotHold; readonly max: number }>();
  /** The requests of the slot waits this session parked on, by wait key, to look at once parked. */
  private readonly waiting = new Map<string, SlotRequest>();

  constructor(
    readonly control: FlowControl,
    private readonly runId: string,
    /** Unique to this hold on the run (its version at acquire): a holder id of this session never matches another's. */
    private readonly token: number,
    private readonly leaseMs: number,
    /** Told of each waiter a freed slot made due, with its new version. */
    private readonly wake: (id: string, version: number) => void,
  ) {}

  /** The gate of a run-level (step null) or step-level limit; rate holders are per attempt. */
  gate(
    kind: "concurrency" | "rate",
    limit: string,
    spec: ConcurrencySpec | RateSpec,
    priority: number,
    step: string | null,
    attempt = 0,
  ): Gate {
    const holder = `${this.runId}@${this.token}${step === null ? "" : `/${step}`}${kind === "rate" ? `#${attempt}` : ""}`;
    return {
      request: {
        limit,
        kind,
        max: spec.limit,
        periodMs: kind === "rate" ? (spec as RateSpec).periodMs : 0,
        leaseMs: this.leaseMs,
        holder,
        waiter: this.runId,
        priority,
      },
      waitKey: slotWaitKey(step, limit),
    };
  }

  /** Admits every gate, in order, or gives back what it took and answers the first refusal. */
  async admit(
    gates: readonly Gate[],
  ): Promise<{ readonly gate: Gate; readonly retryInMs: number } | { readonly held: readonly SlotHold[] }> {
    const taken: SlotHold[] = [];
    for (const gate of gates) {
      const admission = await this.control.admit(gate.request);
      if (!admission.admitted) {
        for (const hold of taken) await this.release(hold);
        this.waiting.set(gate.waitKey, gate.request);
        return { gate, retryInMs: Math.max(1, admission.retryAt - admission.now) };
      }
      if (gate.request.kind === "concurrency") {
        const hold = { limit: gate.request.limit, holder: gate.request.holder };
        this.held.set(hold.holder, { hold, max: gate.request.max });
        taken.push(hold);
      }
    }
    return { held: taken };
  }

  /** Renews every slot held. False when one lapsed (the lease was lost: someone else may hold it now). */
  renew(): Promise<boolean> {
    if (this.held.size === 0) return Promise.resolve(true);
    return this.control.renew(
      [...this.held.values()].map((h) => h.hold),
      this.leaseMs,
    );
  }

  /** Gives a slot back and wakes the waiters it lets in. Never throws: a slot that cannot be given back lapses with its lease. */
  async release(hold: SlotHold): Promise<void> {
    const entry = this.held.get(hold.holder);
    if (!entry) return;
    this.held.delete(hold.holder);
    try {
      const waiters = await this.control.release(hold, entry.max);
      await this.wakeWaiters(hold.limit, waiters);
    } catch {
      // The slot lapses when its lease does; the waiters look again at their own deadline.
    }
  }

  async releaseAll(): Promise<void> {
    await Promise.all([...this.held.values()].map(({ hold }) => this.release(hold)));
  }

  /**
   * After parking on slot waits: a slot freed between the refusal and the park found this run not
   * parked yet and could not wake it, so look once more and wake the run when it would be admitted.
   */
  async afterPark(waitKeys: readonly string[]): Promise<void> {
    for (const key of waitKeys) {
      const request = this.waiting.get(key);
      if (!request) continue;
      try {
        if (await this.control.admissible(request)) await this.wakeWaiters(request.limit, [this.runId]);
      } catch {
        // The wait's own deadline brings the run back.
      }
    }
    this.waiting.clear();
  }

  private async wakeWaiters(limit: string, waiters: readonly string[]): Promise<void> {
    for (const id of waiters) {
      const woken = await this.control.wake(id, limit);
      if (woken.outcome === "woke") this.wake(id, woken.version);
      else if (woken.outcome === "gone") await this.control.forget(limit, id);
    }
  }
}
