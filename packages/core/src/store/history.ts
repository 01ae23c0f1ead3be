/**
 * What a run remembers of what happened to it, defined once for every store: the history's event
 * vocabulary ({@link RUN_EVENT_TYPES}), the records of each step's attempts, their bounds, and the
 * rules that write them. The memory store applies the functions below; the Redis scripts mirror
 * them (`lua/includes/history.lua`, `lua/includes/attempts.lua`), and the behaviour suite checks
 * that both keep the same.
 *
 * Both are written by the store operations that already run (a start, an attempt's start, a commit,
 * a park, a finish, ...), in the same atomic write and with the store's clock: recording them costs
 * no round trip of its own. A failed attempt has no write of its own either: the executor carries
 * it ({@link FailedAttempt}) in the run's next write, which dates it when it failed.
 */
import type { SerializedError } from "../errors.js";
import { compensatedKey } from "../semantics/compensation.js";
import type { RunHeader, Wait } from "./types.js";

/** Most events a run keeps: recording one more drops the oldest. */
export const HISTORY_LIMIT = 100;

/** Most attempts a step keeps the records of: starting one more drops the oldest. */
export const ATTEMPTS_KEPT = 10;

/** Longest error message an attempt record or an event keeps, in characters (the rest is cut). */
export const RECORDED_MESSAGE_CHARS = 1_000;

/** Longest stack an attempt record keeps, in characters (events keep none). */
export const RECORDED_STACK_CHARS = 2_000;

/**
 * Every kind of event a run's history holds, in the order a run first meets them:
 *
 * - `started`: the run was created (with `startAt` when it waits for a delayed start).
 * - `woke`: a worker took the run up after it was parked (a timer passed, a signal came, it resumed).
 * - `recovered`: a worker took the run over from one whose lease lapsed (it died or stalled).
 * - `step.committed`: step `key` committed its output, on attempt `attempt`. A failed run's
 *   compensating steps commit too: `#failed` when it starts compensating, then `compensation.ran`.
 * - `compensation.ran`: the compensation of step `key` ran (its outcome is the step `<key>#compensate`).
 * - `retry.scheduled`: attempt `attempt` of step `key` failed with `error`; the next is due at `retryAt`.
 * - `step.failed`: attempt `attempt` of step `key` failed with `error` and no retry follows.
 * - `parked`: the run waits for `waits` (as `status()` shows them) and holds no worker.
 * - `signal.received`: a signal named `signal` was buffered for the run (a resent one is not recorded again).
 * - `pause.requested`, `cancel.requested`: asked of a running run, applied at its next step boundary.
 * - `paused`, `resumed`, `cancelled`, `completed`: the run reached that status (`resumed`: it went on
 *   after a pause, or a pause asked of it was withdrawn).
 * - `blocked`: no worker can advance the run as it stands (`error`: a definition it lacks, bytes that do not decode).
 * - `failed`: the run failed with `error` (its `step` names the step that failed).
 * - `retried`, `rewound` (to step `to`), `migrated` (to definition `hash`): an operator repaired the run.
 */
export const RUN_EVENT_TYPES = [
  "started",
  "woke",
  "recovered",
  "step.committed",
  "compensation.ran",
  "retry.scheduled",
  "step.failed",
  "parked",
  "signal.received",
  "pause.requested",
  "paused",
  "resumed",
  "cancel.requested",
  "cancelled",
  "blocked",
  "failed",
  "completed",
  "retried",
  "rewound",
  "migrated",
] as const;

/** The kind of a {@link RunEvent}. */
export type RunEventType = (typeof RUN_EVENT_TYPES)[number];

/** Fields every event has: when it happened (store time, ms since the epoch) and what it is. */
interface EventOf<T extends RunEventType> {
  readonly at: number;
  readonly type: T;
}

/**
 * One entry of a run's history. Errors in events keep `name`, `message` (at most
 * {@link RECORDED_MESSAGE_CHARS}), `code` and, for `failed`, `step`; never a stack (the step's
 * attempt records keep it).
 */
export type RunEvent =
  | (EventOf<"started"> & { readonly startAt?: number })
  | EventOf<"woke" | "recovered" | "pause.requested" | "paused" | "resumed" | "cancel.requested" | "cancelled" | "completed" | "retried">
  | (EventOf<"step.committed"> & { readonly key: string; readonly attempt: number })
  | (EventOf<"compensation.ran"> & { readonly key: string })
  | (EventOf<"retry.scheduled"> & {
      readonly key: string;
      readonly attempt: number;
      readonly error: SerializedError;
      readonly retryAt: number;
    })
  | (EventOf<"step.failed"> & { readonly key: string; readonly attempt: number; readonly error: SerializedError })
  | (EventOf<"parked"> & { readonly waits: readonly Wait[] })
  | (EventOf<"signal.received"> & { readonly signal: string })
  | (EventOf<"blocked" | "failed"> & { readonly error: SerializedError })
  | (EventOf<"rewound"> & { readonly to: string })
  | (EventOf<"migrated"> & { readonly hash: string });

/** An event before the store dates it. */
export type NewRunEvent = Undated<RunEvent>;
type Undated<E> = E extends RunEvent ? Omit<E, "at"> : never;

/**
 * One attempt of a step. A task step has one per attempt; a delay, signal or child step one, from
 * when it first waited to its commit; a step the store never saw start (a race's outcome, a
 * compensation) one with `startedAt` null.
 */
export interface AttemptRecord {
  /** 1-based, as `ctx.attempt` counts. */
  readonly attempt: number;
  /** When it started (store time), or null when the store did not see it start. */
  readonly startedAt: number | null;
  /** When it ended (store time): null while it runs, or when its worker stopped before it ended. */
  readonly finishedAt: number | null;
  /** Why it failed (a stack of at most {@link RECORDED_STACK_CHARS}), or null when it did not (or has not ended). */
  readonly error: SerializedError | null;
}

/**
 * An attempt that failed, as the executor hands it to the run's next write (`startAttempt`, `commit`,
 * `park`, `finish` or `touch`), which closes its record and records `retry.scheduled` or `step.failed`.
 */
export interface FailedAttempt {
  readonly key: string;
  readonly attempt: number;
  /** As {@link recordedError} keeps it. */
  readonly error: SerializedError;
  /** How long before the write it failed (ms): the store dates it `now - agoMs`, never before the attempt started. */
  readonly agoMs: number;
  /** How long after it failed the next attempt is due (ms), or null when none follows. */
  readonly retryInMs: number | null;
}

/** An error as attempt records (`stack: true`) and events (`stack: false`) keep it: bounded, without context or cause. */
export function recordedError(error: SerializedError, options: { readonly stack: boolean }): SerializedError {
  return {
    name: error.name,
    message: cut(error.message, RECORDED_MESSAGE_CHARS),
    ...(error.code === undefined ? {} : { code: error.code }),
    ...(options.stack && error.stack !== undefined ? { stack: cut(error.stack, RECORDED_STACK_CHARS) } : {}),
    ...(error.step === undefined ? {} : { step: error.step }),
  };
}

function cut(text: string, chars: number): string {
  return text.length <= chars ? text : text.slice(0, chars);
}

/** Adds `event` to `history`, dropping the oldest beyond {@link HISTORY_LIMIT}. */
export function appendEvent(history: RunEvent[], event: RunEvent): void {
  history.push(event);
  if (history.length > HISTORY_LIMIT) history.splice(0, history.length - HISTORY_LIMIT);
}

/**
 * The records after attempt `attempt` starts at `at`: the records of that attempt and later ones
 * go (the step starts over, or an attempt given back starts again), the oldest beyond {@link ATTEMPTS_KEPT} too.
 */
export function startedAttempt(records: readonly AttemptRecord[], attempt: number, at: number): AttemptRecord[] {
  const kept = records.filter((r) => r.attempt < attempt);
  kept.push({ attempt, startedAt: at, finishedAt: null, error: null });
  return kept.slice(-ATTEMPTS_KEPT);
}

/**
 * The records after attempt `attempt` ended at `at` (with `error` when it failed): its record is
 * closed (never before it started), or added when the store never saw it start.
 */
export function endedAttempt(
  records: readonly AttemptRecord[],
  attempt: number,
  at: number,
  error: SerializedError | null,
): AttemptRecord[] {
  const index = records.findLastIndex((r) => r.attempt === attempt);
  const started = index < 0 ? null : records[index]!.startedAt;
  const ended: AttemptRecord = { attempt, startedAt: started, finishedAt: Math.max(at, started ?? at), error };
  const out = [...records];
  if (index < 0) out.push(ended);
  else out[index] = ended;
  return out.slice(-ATTEMPTS_KEPT);
}

/**
 * What a write that carries `failed` records, at store time `now`: the attempt's record closed with
 * its error, and its event (`retry.scheduled`, or `step.failed` when no retry follows), both dated when it failed.
 */
export function recordFailure(
  records: readonly AttemptRecord[],
  failed: FailedAttempt,
  now: number,
): { readonly records: AttemptRecord[]; readonly event: RunEvent } {
  const { key, attempt } = failed;
  const closed = endedAttempt(records, attempt, now - Math.max(0, failed.agoMs), recordedError(failed.error, { stack: true }));
  const at = closed.findLast((r) => r.attempt === attempt)!.finishedAt!;
  const error = recordedError(failed.error, { stack: false });
  const event: RunEvent =
    failed.retryInMs === null
      ? { at, type: "step.failed", key, attempt, error }
      : { at, type: "retry.scheduled", key, attempt, error, retryAt: at + failed.retryInMs };
  return { records: closed, event };
}

/** Whether a wait opens its step's attempt record when it first parks: a delay, a signal or a child wait (a retry's step has its own). */
export function waitOpensRecord(wait: Wait): boolean {
  return wait.kind === "signal" || wait.reason === "delay" || wait.reason === "child";
}

/** The event a commit under `key` records: `compensation.ran` for a compensation's outcome, else `step.committed`. */
export function commitEvent(key: string, attempt: number): NewRunEvent {
  const undone = compensatedKey(key);
  return undone === null ? { type: "step.committed", key, attempt } : { type: "compensation.ran", key: undone };
}

/**
 * The event a write records when it changes the run's status and names no event of its own:
 * `parked` (with its waits), `paused`, `cancelled`, `completed`, `failed` (with its error), and
 * `woke` for a parked run a worker takes up. Other changes (to `pending`, to `running` from `pending`) record none.
 */
export function statusEvent(before: RunHeader, after: RunHeader): NewRunEvent | null {
  if (before.status === after.status) return null;
  switch (after.status) {
    case "parked":
      return { type: "parked", waits: after.waits };
    case "failed":
      return { type: "failed", error: recordedError(after.error ?? { name: "Error", message: "unknown error" }, { stack: false }) };
    case "paused":
    case "cancelled":
    case "completed":
      return { type: after.status };
    case "running":
      return before.status === "parked" ? { type: "woke" } : null;
    default:
      return null;
  }
}
