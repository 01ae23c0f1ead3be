/**
 * The promises about when things happen, from the ledger's clock (every
 * process of the suite runs on one machine, Redis too, so one clock):
 *
 * - a cancelled run starts no task more than a second after the cancel was
 *   acknowledged, and its tasks running then end within that second (the
 *   cancel reaches them, on whatever worker runs them);
 * - a run past its timeout starts no task, and its tasks running then end
 *   within a second;
 * - a computed delay (a duration from the value, or a date from the clock)
 *   never wakes its run early: the next task begins no sooner than the delay
 *   after the task before it ended;
 * - a loop's iterations run in order: none begins after the next one began.
 *
 * A late end is excused only by a fault that stopped the news from coming: the
 * task's worker killed, frozen or stopped, or Redis down or its subscribers
 * dropped, since a lease before the moment (and until the clients could have
 * reconnected).
 */
import { CLOCK_DELAY_MS, computedDelayMs } from "./fixtures/fault-workflows.mjs";
import type { CheckedRun, Checker } from "./invariants.js";
import type { Execution } from "./ledger.js";
import type { Kind } from "./load.js";

/** How soon a cancel or a run's timeout must reach the tasks of the run. */
export const REACH_MS = 1000;
/** The workers' lease in the suite: a fault this long before a moment may still delay what follows it. */
const LEASE_MS = 2000;
/**
 * How long after Redis answers again a worker's connection (its subscriber's too) may still be
 * down: a client that lost it retries after 1 s, then 2 s, then 4 s (`reconnectDelay`).
 */
const RECONNECT_MS = 4000;
/** A timer's and a clock read's give: a task may begin this long after its run's deadline and still have begun in time. */
const CLOCK_SLACK_MS = 50;

/** When process `pid` stopped doing anything at or after `after` (killed, frozen, exited), or undefined. */
export function processGoneAt(checker: Checker, pid: number, after: number): number | undefined {
  return checker.input.faults?.processes.find((p) => p.pid === pid && p.at >= after && p.kind !== "started" && p.kind !== "thawed")?.at;
}

/**
 * Whether process `pid` was stopped at some moment between `from` and `to`: stopped (killed,
 * frozen, told to stop) within them, or before `from` and not thawed by then. A worker frozen
 * for longer than a lease is still frozen when a cancel comes a lease later.
 */
function processStoppedDuring(checker: Checker, pid: number, from: number, to: number): boolean {
  let stopped = false;
  for (const p of checker.input.faults?.processes ?? []) {
    if (p.pid !== pid || p.at > to) continue;
    const stops = p.kind !== "started" && p.kind !== "thawed";
    if (p.at >= from && stops) return true;
    if (p.at < from) stopped = stops;
  }
  return stopped;
}

/**
 * Whether Redis was out of some client's reach at a moment between `from` and `to`: from its
 * kill to when it answered again, or when the subscribers were dropped, and for RECONNECT_MS
 * after either, while a client waits out its reconnect backoff.
 */
function redisFaultDuring(checker: Checker, from: number, to: number): boolean {
  const events = checker.input.faults?.redis ?? [];
  return events.some((f, i) => {
    const back = f.kind === "down" ? (events.slice(i + 1).find((e) => e.kind === "up")?.at ?? Number.POSITIVE_INFINITY) : f.at;
    return f.at <= to && back + RECONNECT_MS >= from;
  });
}

/** How far back a process's probes tell how starved it was when a task began: the run's acquire and its first steps. */
const LAG_WINDOW_MS = 2000;

/** The slowest probe round trip of process `pid` among the tasks it began in the LAG_WINDOW_MS up to `began`. */
export function lagBefore(checker: Checker, pid: number, began: number): number {
  let lag = 0;
  for (const e of checker.input.ledger.executions.values()) {
    if (e.pid === pid && e.began <= began && e.began >= began - LAG_WINDOW_MS) lag = Math.max(lag, e.at - e.began);
  }
  return lag;
}

/** Whether a fault between `from` (less a lease) and `to` could have kept news from the worker `pid`. */
function excused(checker: Checker, pid: number, from: number, to: number): boolean {
  return processStoppedDuring(checker, pid, from - LEASE_MS, to) || redisFaultDuring(checker, from - LEASE_MS, to);
}

const executionsOf = (checker: Checker, id: string, keys: readonly string[]): Execution[] =>
  keys.flatMap((key) => checker.input.ledger.byStep.get(`${id}|${key}`) ?? []);

/**
 * Tasks running at `at` must end within REACH_MS of it (a task whose process was killed or froze
 * ended then); none may begin later than `beginBy`, give or take its worker's lag: a worker tells
 * the time as the store's clock at a reply plus its own clock since, so a process that sat on a
 * reply (starved of CPU) begins a task that late. The reply may be an earlier one (the acquire of
 * the run), so the lag is the slowest round trip of that process's probes (each read just after a
 * task began) in the LAG_WINDOW_MS before the task began, on any run. Returns how late the latest
 * of them ended after `at`.
 */
function checkReach(checker: Checker, what: string, executions: readonly Execution[], at: number, beginBy: number): number {
  const lag = (e: Execution) => lagBefore(checker, e.pid, e.began);
  let latest = 0;
  for (const e of executions) {
    if (e.began > beginBy + lag(e)) checker.violation(`${e.run}|${e.key}: attempt ${e.attempt} began ${e.began - at}ms after ${what}`);
    else if (e.began > beginBy) checker.bump(`begunLateByLag:${what}`);
    if (e.began > at) continue;
    const ended = e.ended ?? processGoneAt(checker, e.pid, e.began) ?? Number.POSITIVE_INFINITY;
    if (ended <= at) continue;
    if (ended <= at + REACH_MS) {
      latest = Math.max(latest, ended - at);
      if (ended - at > REACH_MS / 2) checker.bump(`reachedAfterHalfASecond:${what}`);
      if (e.end === "aborted") checker.bump(`abortedBy:${what}`);
    } else if (excused(checker, e.pid, at, at + REACH_MS)) checker.bump(`lateAfterFault:${what}`);
    else
      checker.violation(
        `${e.run}|${e.key}: still running ${e.ended === null ? "until its process ended" : `${ended - at}ms`} after ${what}`,
      );
  }
  return latest;
}

export function checkTimings(checker: Checker, checked: ReadonlyMap<Kind, readonly CheckedRun[]>): void {
  const { input } = checker;
  let reach = 0;
  for (const [id, ackedAt] of input.cancelsAcked) {
    const plan = input.runs.find((p) => p.id === id);
    const tasks = plan?.kind === "cancel" ? ["a", "c", "b"] : [];
    reach = Math.max(reach, checkReach(checker, "the cancel", executionsOf(checker, id, tasks), ackedAt, ackedAt + REACH_MS));
    if (plan?.kind === "cancel" && executionsOf(checker, id, ["b"]).length > 0) {
      checker.violation(`${id}|b: ran, although the run was cancelled before its signal could ever come`);
    }
  }
  checker.bump("cancelReachMostMs", reach);

  reach = 0;
  for (const r of checked.get("deadline") ?? []) {
    const deadline = r.run.header.createdAt + 1500;
    reach = Math.max(
      reach,
      checkReach(checker, "the timeout", executionsOf(checker, r.id, r.spec.tasks), deadline, deadline + CLOCK_SLACK_MS),
    );
  }
  checker.bump("timeoutReachMostMs", reach);

  for (const r of checked.get("computed") ?? []) {
    if (r.run.header.status !== "completed") continue;
    const committed = (key: string) => executionsOf(checker, r.id, [key]).find((e) => e.x === r.outputs.get(key)?.t);
    const checkWake = (before: string, after: string, delayMs: number) => {
      const ended = committed(before)?.ended;
      if (ended === undefined || ended === null) return;
      for (const e of executionsOf(checker, r.id, [after])) {
        if (e.began < ended + delayMs)
          checker.violation(`${r.id}|${after}: began ${ended + delayMs - e.began}ms before its delay was over`);
      }
    };
    checkWake("a", "b", computedDelayMs(Number(r.outputs.get("a")?.v)));
    checkWake("b", "c", CLOCK_DELAY_MS);
  }

  for (const r of checked.get("loop") ?? []) {
    for (let i = 1; i <= 3; i++) {
      const these = executionsOf(checker, r.id, [`poll#${i}/try`]);
      if (r.run.header.status === "completed" && !these.some((e) => e.end === "ok"))
        checker.violation(`${r.id}|poll#${i}/try: never ended`);
      const next = executionsOf(checker, r.id, [`poll#${i + 1}/try`]);
      if (next.length === 0) continue;
      const nextBegan = Math.min(...next.map((e) => e.began));
      if (these.some((e) => e.began > nextBegan)) checker.violation(`${r.id}: iteration ${i} began again after iteration ${i + 1} began`);
    }
  }
}
