import { ValidationError } from "./errors.js";

/** A duration: milliseconds as a number, or a string such as "250ms", "30s", "5m", "2h", "1d". */
export type Duration = number | `${number}${DurationUnit}`;
type DurationUnit = "ms" | "s" | "m" | "h" | "d";

export const UNIT_MS: Record<DurationUnit, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

/**
 * The longest duration Parkway accepts: 36,500 days (about 100 years). A
 * deadline that far off is still an exact integer of milliseconds and a valid
 * `Date`, and the timers that wait for it sleep in chunks (see `setLongTimeout`).
 */
export const MAX_DURATION_MS = 36_500 * UNIT_MS.d;

/**
 * Converts a {@link Duration} to whole milliseconds.
 * @throws ValidationError naming the value when it is not a finite, non-negative
 * duration, or is longer than {@link MAX_DURATION_MS}.
 */
export function toMs(value: unknown, what = "duration"): number {
  let ms: number | null = null;
  if (typeof value === "number") {
    if (Number.isFinite(value) && value >= 0) ms = Math.round(value);
  } else if (typeof value === "string") {
    const match = PATTERN.exec(value.trim());
    if (match) ms = Math.round(Number(match[1]) * UNIT_MS[match[2] as DurationUnit]);
  }
  if (ms === null) {
    throw new ValidationError(
      `${what}: ${describe(value)} is not a duration (use milliseconds or a string like "250ms", "30s", "5m", "2h", "1d")`,
      { value: describe(value) },
    );
  }
  if (ms > MAX_DURATION_MS) {
    throw new ValidationError(`${what}: ${describe(value)} is longer than the maximum duration of 36500d (about 100 years)`, {
      value: describe(value),
    });
  }
  return ms;
}

/** A value as an error message shows it. */
export function describe(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}
