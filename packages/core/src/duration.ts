import { ValidationError } from "./errors.js";

/** A duration: milliseconds as a number, or a string such as "250ms", "30s", "5m", "2h", "1d". */
export type Duration = number | `${number}${DurationUnit}`;
type DurationUnit = "ms" | "s" | "m" | "h" | "d";

const UNIT_MS: Record<DurationUnit, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

/**
 * Converts a {@link Duration} to whole milliseconds.
 * @throws ValidationError naming the value when it is not a finite, non-negative duration.
 */
export function toMs(value: unknown, what = "duration"): number {
  if (typeof value === "number") {
    if (Number.isFinite(value) && value >= 0) return Math.round(value);
  } else if (typeof value === "string") {
    const match = PATTERN.exec(value.trim());
    if (match) return Math.round(Number(match[1]) * UNIT_MS[match[2] as DurationUnit]);
  }
  throw new ValidationError(
    `${what}: ${describe(value)} is not a duration (use milliseconds or a string like "250ms", "30s", "5m", "2h", "1d")`,
    { value: describe(value) },
  );
}

function describe(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}
