/**
 * Checking option objects at the public entry points. A misspelt option
 * (`concurency`) would otherwise be ignored without a word and its default
 * used: every entry point refuses names it does not know.
 */
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
