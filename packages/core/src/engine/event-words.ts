/**
 * How a run's events read in words, one wording for every view of a history (`parkway history`,
 * the dashboard's timeline), each writing times, waits and errors in its own style. Types only are
 * imported, so a browser can import this alone (`@parkway/core/event-words`) without the engine.
 */
import type { SerializedError } from "../errors.js";
import type { RunEvent } from "../store/history.js";
import type { Wait } from "../store/types.js";

/** How a view writes what an event says: times (to the second, and to the ms), waits and errors, in its own style. */
export interface EventWording {
  time(ms: number): string;
  preciseTime(ms: number): string;
  wait(wait: Wait): string;
  error(error: SerializedError): string;
}

/**
 * What an event says beyond its kind and step, in words (`parkway history`, the dashboard's
 * timeline): the attempt a step committed on, why an attempt failed and when the next is due, what
 * a parked run waits for, a signal's name, an operator's repair. Empty for events that say nothing more.
 */
export function describeEvent(event: RunEvent, words: EventWording): string {
  switch (event.type) {
    case "started":
      return event.startAt === undefined ? "" : `starts at ${words.time(event.startAt)}`;
    case "step.committed":
      return `attempt ${event.attempt}`;
    case "retry.scheduled":
      return `attempt ${event.attempt} failed: ${words.error(event.error)}; retries at ${words.preciseTime(event.retryAt)}`;
    case "step.failed":
      return `attempt ${event.attempt} failed: ${words.error(event.error)}`;
    case "parked":
      return event.waits.map((wait) => `${wait.key}: ${words.wait(wait)}`).join("; ");
    case "signal.received":
      return `signal "${event.signal}"`;
    case "blocked":
      return words.error(event.error);
    case "failed":
      return event.error.step === undefined ? words.error(event.error) : `${words.error(event.error)}  (step ${event.error.step})`;
    case "rewound":
      return `to step ${event.to}`;
    case "migrated":
      return `to definition ${event.hash.slice(0, 12)}`;
    default:
      return "";
  }
}
