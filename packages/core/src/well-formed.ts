/**
 * Ids, names and namespaces become Redis keys and hash fields, which ioredis
 * sends as UTF-8. A lone surrogate has no UTF-8 form: it is sent as U+FFFD, so
 * two ids that differ only in one would name the same run. Every id and name
 * Parkway stores passes through here, on every store.
 */
import { ValidationError } from "./errors.js";

/** Matches a lone surrogate: with the `u` flag a paired surrogate is one astral code point, not `Cs`. */
const LONE_SURROGATE = /\p{Surrogate}/u;

/** @throws ValidationError naming `what` when `value` holds a lone surrogate (ill-formed UTF-16). */
export function assertWellFormed(value: string, what: string): void {
  if (LONE_SURROGATE.test(value)) {
    // JSON.stringify writes a lone surrogate as a \uXXXX escape, so the message shows it.
    throw new ValidationError(`${what} must be well-formed UTF-16 (no lone surrogate), got ${JSON.stringify(value)}`, {
      value: JSON.stringify(value),
    });
  }
}
