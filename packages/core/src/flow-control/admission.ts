/**
 * One run session's side of flow control: the limit keys of its run and steps, the slots it
 * holds (renewed with its lease, given back when it lets go), and the wake-ups of the runs a
 * freed slot is granted to. The executor calls it at three hooks: before the walk (the run's own
 * limits), around each task attempt (the task's limits), and when the session ends.
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
 * The limit key of `spec` for `input`: `<scope>:<name>` for a concurrency limit, `<scope>-rate:<name>`
 * for a rate limit, then `:<key>` with a key function. The kind is part of the key, so a flow's (or
 * task's) two limits never share state, whatever their key functions answer.
 * @throws ValidationError naming `where` when the key function throws or answers anything but a non-empty string.
 */
export function limitKey(
  scope: "flow" | "task",
  kind: "concurrency" | "rate",
  name: string,
  spec: ConcurrencySpec | RateSpec,
  input: unknown,
  where: string,
): string {
  const prefix = `${scope}${kind === "rate" ? "-rate" : ""}:${name}`;
  if (spec.key === null) return prefix;
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
  return `${prefix}:${key}`;
}

/** Whether `limit`, a limit key, names a rate limit (see {@link limitKey}). */
export function isRateLimit(limit: string): boolean {
  return limit.startsWith("flow-rate:") || limit.startsWith("task-rate:");
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

/**
 * When to wake again a run granted a slot that was not parked yet (its worker had refused it and
 * not yet written the park): real time, since it waits for that worker's next write, not for a
 * deadline. After the last try the run's own slot wait brings it back to its grant.
 */
const WAKE_AGAIN_AFTER_MS = [50, 500, 5000] as const;

/**
 * Offered each run that a slot freed as a session ended was granted to, once it is due (with its
 * new version): true when the caller advances that run itself, next; false to have it woken as
 * usual. A worker runs it in the same job, rather than queueing it behind the backlog while its
 * slot sits idle.
 */
export type Handoff = (id: string, version: number) => boolean;

export class RunSlots {
  /** Slots held now, by holder, with their limit's size (a release grants up to that many). */
  private readonly held = new Map<string, { readonly hold: SlotHold; readonly max: number }>();

  constructor(
    readonly control: FlowControl,
    private readonly runId: string,
    /** Unique to this hold on the run (its version at acquire): a holder id of this session never matches another's. */
    private readonly token: number,
    private readonly leaseMs: number,
    /** Told of each run a freed slot was granted to, once due, with its new version. */
    private readonly wake: (id: string, version: number) => void,
    /** True once this process takes no more runs: it wakes no run again (their slot waits bring them back). */
    private readonly closing: () => boolean,
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

  /**
   * Gives a slot back and wakes the runs it is granted to (offered to `handoff` first). Never
   * throws: a slot that cannot be given back lapses with its lease, and a grant whose run is not
   * woken waits for the run's slot wait to bring it back (or lapses, unclaimed, with its lease).
   */
  async release(hold: SlotHold, handoff?: Handoff): Promise<void> {
    const entry = this.held.get(hold.holder);
    if (!entry) return;
    this.held.delete(hold.holder);
    try {
      const granted = await this.control.release(hold, entry.max, this.leaseMs);
      await this.wakeGranted(hold.limit, entry.max, granted, handoff);
    } catch {
      // Covered as above.
    }
  }

  /** Gives every slot back, as the session ends (after the run's last write). */
  async releaseAll(handoff?: Handoff): Promise<void> {
    await Promise.all([...this.held.values()].map(({ hold }) => this.release(hold, handoff)));
  }

  /**
   * Wakes each run granted a slot of `limit`. One not parked yet is woken again a little later;
   * one that waits no more gives its grant back, to the next waiter.
   */
  private async wakeGranted(limit: string, max: number, runs: readonly string[], handoff?: Handoff, tries = 0): Promise<void> {
    for (const id of runs) {
      const woken = await this.control.wake(id, limit);
      if (woken.outcome === "woke") {
        if (!handoff?.(id, woken.version)) this.wake(id, woken.version);
      } else if (woken.outcome === "gone") {
        await this.wakeGranted(limit, max, await this.control.returnGrant(limit, id, max, this.leaseMs), handoff);
      } else {
        this.wakeAgain(limit, max, id, tries);
      }
    }
  }

  private wakeAgain(limit: string, max: number, id: string, tries: number): void {
    const afterMs = WAKE_AGAIN_AFTER_MS[tries];
    if (afterMs === undefined || this.closing()) return;
    const again = () => (this.closing() ? undefined : this.wakeGranted(limit, max, [id], undefined, tries + 1).catch(() => undefined));
    setTimeout(() => void again(), afterMs).unref();
  }
}
