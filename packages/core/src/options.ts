/**
 * Checks of user-facing options: every numeric option has a documented range,
 * and a misspelled option is an error rather than silently ignored.
 */
import { describe, type Duration, toMs, UNIT_MS } from "./duration.js";
import { ValidationError } from "./errors.js";

/**
 * An optional duration option within `[min, max]` milliseconds, or `fallback`
 * when it is absent. @throws ValidationError naming the option when it is not a
 * duration or falls outside the range.
 */
export function durationInRange(value: unknown, what: string, fallback: Duration, min: number, max: number): number {
  const ms = toMs(value ?? fallback, what);
  if (ms < min || ms > max) {
    throw new ValidationError(`${what} must be between ${formatMs(min)} and ${formatMs(max)}, got ${describe(value)}`, {
      value: describe(value),
    });
  }
  return ms;
}

/**
 * An optional integer option within `[min, max]`, or `fallback` when it is absent.
 * @throws ValidationError naming the option when it is not an integer in range.
 */
export function integerInRange(value: unknown, what: string, fallback: number, min: number, max: number): number {
  const n = value ?? fallback;
  if (typeof n !== "number" || !Number.isInteger(n) || n < min || n > max) {
    throw new ValidationError(`${what} must be an integer between ${min} and ${max}, got ${describe(value)}`, {
      value: describe(value),
    });
  }
  return n;
}

/**
 * Refuses an options object with a key not in `known`, naming it: a misspelled
 * option must not be silently ignored.
 */
export function checkKnownOptions(options: object, known: readonly string[], what: string): void {
  if (typeof options !== "object" || options === null) throw new ValidationError(`${what}: options must be an object`);
  const unknown = Object.keys(options).find((key) => !known.includes(key));
  if (unknown !== undefined) {
    throw new ValidationError(`${what}: unknown option "${unknown}" (known: ${known.join(", ")})`, { option: unknown });
  }
}

export function formatMs(ms: number): string {
  for (const unit of ["d", "h", "m", "s"] as const)
    if (ms >= UNIT_MS[unit] && ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  return `${ms}ms`;
}
