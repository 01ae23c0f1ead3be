/**
 * The admission protocol every store implements (see packages/redis/ARCHITECTURE.md, "Flow
 * control", for how it stays exact when a limit's state and a run live in different slots).
 *
 * A limit is named by its *limit key*: `flow:<workflow>[:<key>]` and `task:<task id>[:<key>]` for
 * concurrency limits, `flow-rate:<workflow>[:<key>]` and `task-rate:<task id>[:<key>]` for rate
 * limits, so the two limits of one flow or task never share state. A concurrency limit holds
 * *slots*: leases held by a holder (one run, or one step of a run, on one worker), renewed with the
 * run's lease, so a slot whose worker died lapses with it. A rate limit keeps the admissions of its
 * sliding window. A refused request joins the limit's *waiters* (ordered by priority, then arrival)
 * and its run parks on a `slot` wait. Releasing a slot *grants* it to the first waiter: the slot
 * stays taken, the waiter leaves the line, its run is woken and its next admit claims the grant, so
 * a woken run never races anyone for its slot. Otherwise admission is by rank: a waiter is admitted
 * when fewer waiters are ahead of it than there are free slots, so a newcomer never overtakes one.
 */

/** One admission asked of a limit. */
export interface SlotRequest {
  /** The limit key. */
  readonly limit: string;
  readonly kind: "concurrency" | "rate";
  /** How many at once (concurrency) or per window (rate). */
  readonly max: number;
  /** A rate limit's window in ms (0 for a concurrency limit). */
  readonly periodMs: number;
  /** The run's lease: a concurrency slot's lease, and what a waiter's time in line is counted in. */
  readonly leaseMs: number;
  /** Unique per acquisition: a second admit by the same holder is answered from the first (a resent request). */
  readonly holder: string;
  /** The run that waits when refused. */
  readonly waiter: string;
  /** Higher first, -1000 to 1000. */
  readonly priority: number;
}

/** What an admission answered. `retryAt` (store time): when the run should look again unless a release wakes it first. */
export type Admission = { readonly admitted: true } | { readonly admitted: false; readonly retryAt: number; readonly now: number };

/** A slot held by a holder, to renew and release. */
export interface SlotHold {
  readonly limit: string;
  readonly holder: string;
}

/**
 * Flow control over a store's own clock. Every method is one atomic step on one limit's state
 * (one Lua script over one hash tag on Redis), except `wake`, which writes the run's own keys.
 */
export interface FlowControl {
  /**
   * Admits the request (claiming the slot granted to its run, if one was), or records the waiter
   * and says when to look again.
   */
  admit(request: SlotRequest): Promise<Admission>;
  /** Renews the slots' leases by `leaseMs`. False when one of them lapsed (it may be someone else's now). */
  renew(holds: readonly SlotHold[], leaseMs: number): Promise<boolean>;
  /**
   * Gives a concurrency slot back and grants the free slots to the first waiters (by priority,
   * then arrival), each for `leaseMs` unless its run claims it: answers those runs, first first,
   * to be woken.
   */
  release(hold: SlotHold, max: number, leaseMs: number): Promise<readonly string[]>;
  /** Gives back the slot of `limit` granted to run `run`, which waits no more; answers the runs it is granted to instead. */
  returnGrant(limit: string, run: string, max: number, leaseMs: number): Promise<readonly string[]>;
  /**
   * Makes run `id`, parked on a slot wait of `limit`, due now: `woke`, with its new version.
   * `running` when it is not parked yet (woken again a little later); `gone` when it waits no
   * more (finished, cancelled, or parked on something else), so its grant goes back.
   */
  wake(id: string, limit: string): Promise<WakeOutcome>;
}

/** What waking a waiter did. */
export type WakeOutcome = { readonly outcome: "woke"; readonly version: number } | { readonly outcome: "running" | "gone" };

/** Marks a slot wait's key: `<commit key>#slot=<limit key>` for a step, `#slot=<limit key>` for the run. Ids cannot hold `#`. */
const SLOT_MARK = "#slot=";

/** The key of the wait of a run (step `null`) or a step waiting on `limit`. */
export function slotWaitKey(step: string | null, limit: string): string {
  return `${step ?? ""}${SLOT_MARK}${limit}`;
}

/** The step (null: the run) and the limit of a slot wait's key, or null for any other key. */
export function parseSlotWaitKey(key: string): { readonly step: string | null; readonly limit: string } | null {
  const at = key.indexOf(SLOT_MARK);
  if (at < 0) return null;
  return { step: at === 0 ? null : key.slice(0, at), limit: key.slice(at + SLOT_MARK.length) };
}

/**
 * A waiter's score: priority first (higher first), then arrival (store time), so equal priorities
 * are first come, first served. Exact in a double until 2109 (arrival below 2^42 ms).
 */
export function waiterScore(priority: number, now: number): number {
  return (1000 - priority) * 2 ** 42 + now;
}

/** How long a waiter stays in line without asking again: a run that waits no more (cancelled, dead) drops out. */
export function waiterTtlMs(retryInMs: number, leaseMs: number): number {
  return retryInMs + 2 * leaseMs;
}
