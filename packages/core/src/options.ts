/**
 * Checking option objects at the public entry points. A misspelt option
 * (`concurency`) would otherwise be ignored without a word and its default
 * used: every entry point refuses names it does not know. Every numeric
 * option has a documented range.
 */
import { describe, type Duration, toMs, UNIT_MS } from "./duration.js";
import { ValidationError } from "./errors.js";

/**
 * The option names of `T`, listed once as `{ name: true, ... }`. The mapped type makes the
 * compiler refuse a list that misses or invents a name, so the list cannot drift from the interface.
 */
export function optionNames<T>(names: { readonly [K in keyof Required<T>]: true }): readonly string[] {
  return Object.keys(names);
}

/**
 * @throws ValidationError naming `what` and the first option not in `allowed`, or saying what was
 * given when `options` is not a plain object
 */
export function checkOptions(what: string, options: unknown, allowed: readonly string[]): void {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new ValidationError(
      `${what}: options must be an object, got ${options === null ? "null" : Array.isArray(options) ? "an array" : typeof options}`,
    );
  }
  for (const name of Object.keys(options)) {
    if (!allowed.includes(name)) {
      throw new ValidationError(`${what}: unknown option "${name}" (known options: ${allowed.join(", ")})`, { option: name });
    }
  }
}

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

export function formatMs(ms: number): string {
  for (const unit of ["d", "h", "m", "s"] as const)
    if (ms >= UNIT_MS[unit] && ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  return `${ms}ms`;
}
