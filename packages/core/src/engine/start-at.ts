/**
 * The delayed-start options of `start` and `signalWithStart`: when a new run may take its first
 * step. One definition, so both entry points (and schedules) check them alike.
 */
import type { Duration } from "../duration.js";
import { ValidationError } from "../errors.js";
import { durationInRange } from "../options.js";
import type { NewRun } from "../store/types.js";

/** When a new run begins: at a date, or after a delay. Neither: at once. */
export interface DelayedStartOptions {
  /**
   * Park the new run until this time; it takes no step before. A time not in the future (by the
   * store's clock) starts it at once. Not with `delay`.
   */
  readonly startAt?: Date;
  /** Park the new run for this long (from the store's now, up to 1 year) before its first step. Not with `startAt`. */
  readonly delay?: Duration;
}

/** Longest `delay` accepted: a year. A later start is better given as `startAt`. */
const MAX_START_DELAY_MS = 366 * 86_400_000;

/**
 * The store's `notBefore` for these options, or undefined to start at once.
 * @throws ValidationError naming the option: `startAt` not a valid Date, `delay` not a duration
 * from 0 to 1 year, or both given
 */
export function notBeforeOf(what: string, options: DelayedStartOptions): NewRun["notBefore"] {
  const { startAt, delay } = options;
  if (startAt !== undefined && delay !== undefined) {
    throw new ValidationError(`${what}: give startAt or delay, not both`, { option: "startAt" });
  }
  if (startAt !== undefined) {
    if (!(startAt instanceof Date) || Number.isNaN(startAt.getTime())) {
      throw new ValidationError(
        `${what}: startAt must be a valid Date, got ${startAt instanceof Date ? "an invalid Date" : typeof startAt}`,
        {
          option: "startAt",
        },
      );
    }
    return { at: startAt.getTime() };
  }
  if (delay !== undefined) return { delayMs: durationInRange(delay, `${what}: delay`, 0, 0, MAX_START_DELAY_MS) };
  return undefined;
}
