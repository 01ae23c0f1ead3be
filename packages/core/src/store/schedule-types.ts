/**
 * Schedules as a store keeps them. A store holds each schedule as an opaque state (JSON on
 * Redis) plus its encoded input, a version for compare-and-set, and its place in the schedules'
 * due index; what the state means, and how a tick becomes a run, is written once in
 * `engine/schedule-ticks.ts`.
 */

/** What a tick does while the schedule's previous run is still live. */
export type OverlapPolicy = "skip" | "bufferOne" | "allow";
export const OVERLAP_POLICIES: readonly OverlapPolicy[] = ["skip", "bufferOne", "allow"];

/** What happens to ticks missed while no worker ran. */
export type CatchupPolicy = "none" | "latest";
export const CATCHUP_POLICIES: readonly CatchupPolicy[] = ["none", "latest"];

/** A tick being started: marked in the schedule before its run is started, cleared once recorded. */
export interface FiringTick {
  /** The tick's time (ms since the epoch). */
  readonly tick: number;
  /** The run it starts: `<schedule id>@<tick time, ISO>`. */
  readonly runId: string;
  /** Who marked it; a worker settles a tick only while the mark is still its own. */
  readonly token: string;
  /** Asked for by `trigger`, not by the cron expression. */
  readonly manual: boolean;
}

/** A schedule's definition and where it stands. Plain data, so every store keeps it alike. */
export interface ScheduleState {
  readonly workflow: string;
  /** The definition's hash when the schedule was made or last updated: used by a worker that lacks the workflow. */
  readonly hash: string;
  /** The signal names the definition waits for, recorded with each run it starts. */
  readonly signals: readonly string[];
  readonly cron: string;
  /** An IANA time zone the cron expression is read in; null for UTC. */
  readonly timezone: string | null;
  readonly overlap: OverlapPolicy;
  readonly catchup: CatchupPolicy;
  readonly paused: boolean;
  /** The next cron tick not yet handled; null while paused. */
  readonly nextAt: number | null;
  /** A tick held by `bufferOne` until the previous run finishes. */
  readonly buffered: number | null;
  /** A tick asked for by `trigger`, not yet started. */
  readonly triggered: number | null;
  readonly firing: FiringTick | null;
  /** The run the schedule started last, by a tick or a trigger. */
  readonly lastRun: string | null;
  /** How many ticks were skipped (overlap `skip`, a full `bufferOne`, or missed with `catchup`). */
  readonly skipped: number;
}

/** A schedule as read from a store. */
export interface StoredSchedule {
  readonly id: string;
  readonly version: number;
  readonly state: ScheduleState;
  /** The input of every run it starts, encoded. */
  readonly input: Uint8Array;
  /** When the schedule next needs a worker (store time), or null. */
  readonly dueAt: number | null;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** The store's clock when it was read. */
  readonly now: number;
}

/**
 * When a written schedule is next due: at a time (null: never, until written again), or when a
 * lease from the store's now runs out (a marked tick: if its worker dies, another takes it then).
 */
export type ScheduleDue = { readonly at: number | null } | { readonly leaseMs: number };

export interface ScheduleWrite {
  readonly id: string;
  /** The version read; 0 to create (refused with `ScheduleExistsError` when the id exists). */
  readonly version: number;
  readonly state: ScheduleState;
  /** The encoded input; null keeps the stored one. */
  readonly input: Uint8Array | null;
  readonly due: ScheduleDue;
}

export interface SchedulePage {
  /** Schedules in id order (by UTF-16 code units on the memory store, bytes on Redis: the same for ASCII ids). */
  readonly schedules: readonly StoredSchedule[];
  /** Pass back for the next page; null on the last page. */
  readonly cursor: string | null;
}
