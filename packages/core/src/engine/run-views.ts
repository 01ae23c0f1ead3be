/**
 * How `status()` and `history()` show what the store keeps: waits as a user reads them, each
 * step's timing from its attempt records, and the history's events in time order.
 */
import type { SerializedError } from "../errors.js";
import { parseSlotWaitKey } from "../flow-control/types.js";
import { childStepOf } from "../semantics/children.js";
import type { AttemptRecord, RunEvent } from "../store/history.js";
import type { Wait } from "../store/types.js";

/**
 * When a step ran and how its attempts ended, from its attempt records (store times, ms since the
 * epoch). A step committed after retries keeps the error that made it retry in `lastError`.
 */
export interface StepTiming {
  /** When its first recorded attempt started, or when it first waited (a delay, a signal, a child); null when not recorded. */
  readonly startedAt: number | null;
  /** When its last attempt ended (committed, or failed); null while it runs or waits. */
  readonly finishedAt: number | null;
  /** `finishedAt - startedAt` when both are known, else null: backoffs and waits between attempts included. */
  readonly durationMs: number | null;
  /** The error of its latest failed attempt, or null when none failed. */
  readonly lastError: SerializedError | null;
  /** Its last attempts (at most `ATTEMPTS_KEPT`), oldest first. */
  readonly attemptLog: readonly AttemptRecord[];
}

/** The timing of a step with no attempt record (committed by a run stored before they were kept). */
export const NO_TIMING: StepTiming = { startedAt: null, finishedAt: null, durationMs: null, lastError: null, attemptLog: [] };

/** Only the timing fields of `t` (a `StepView` carries them among others). */
export function timingOf(t: StepTiming): StepTiming {
  return { startedAt: t.startedAt, finishedAt: t.finishedAt, durationMs: t.durationMs, lastError: t.lastError, attemptLog: t.attemptLog };
}

/** A step's timing from its attempt records (oldest first). */
export function stepTiming(records: readonly AttemptRecord[]): StepTiming {
  if (records.length === 0) return NO_TIMING;
  const startedAt = records[0]!.startedAt;
  const finishedAt = records[records.length - 1]!.finishedAt;
  return {
    startedAt,
    finishedAt,
    durationMs: startedAt === null || finishedAt === null ? null : finishedAt - startedAt,
    lastError: records.findLast((r) => r.error !== null)?.error ?? null,
    attemptLog: records,
  };
}

/**
 * The waits as `status()` shows them: a child step's wait names the child run it waits for (its
 * internal signal and re-check timer are how it waits, not what), and a slot wait names its step
 * (or `#run`) and the limit it waits for.
 */
export function viewWaits(waits: readonly Wait[], children: Readonly<Record<string, string>> | undefined): Wait[] {
  return waits.flatMap((wait): Wait[] => {
    if (wait.kind === "timer" && wait.reason === "child") return [];
    if (wait.kind !== "signal") return [viewWait(wait)];
    const step = childStepOf(wait.signal);
    const child = step === null ? undefined : children?.[step];
    return [child === undefined ? wait : { ...wait, child }];
  });
}

/** A wait as `status()` shows it: a slot wait names its step (or `#run`) and the limit it waits for. */
function viewWait(wait: Wait): Wait {
  if (wait.kind !== "timer" || wait.reason !== "slot") return wait;
  const slot = parseSlotWaitKey(wait.key);
  return slot ? { ...wait, key: slot.step ?? "#run", slot: slot.limit } : wait;
}

/**
 * The history as `history()` shows it: in time order (a failed attempt is recorded by the run's
 * next write but dated when it failed; events of one time keep the order they were recorded in),
 * with `parked` waits shown as `status()` shows waits (a child step's wait names its signal
 * `#child:<step key>`, not the child's id: `status().children` has it).
 */
export function viewHistory(events: readonly RunEvent[]): RunEvent[] {
  return events
    .map((event) => (event.type === "parked" ? { ...event, waits: viewWaits(event.waits, undefined) } : event))
    .sort((a, b) => a.at - b.at);
}
