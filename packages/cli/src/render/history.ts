/** A run's history as a table: one row per event, oldest first, with what it says in words. */
import type { RunEvent } from "@parkway/core";
import { describeWait, preciseTimestamp, shortError, timestamp } from "./format.js";
import { renderTable } from "./table.js";

/** The `history` page. `now` (epoch ms) is for the relative times of waits. */
export function renderHistory(id: string, events: readonly RunEvent[], now: number): string {
  if (events.length === 0) return `Run ${id} has no recorded events.`;
  return renderTable(
    ["TIME", "EVENT", "STEP", "DETAIL"],
    events.map((event) => [preciseTimestamp(event.at), event.type, "key" in event ? event.key : "", detailOf(event, now)]),
  ).join("\n");
}

/** What an event says beyond its kind and step. */
function detailOf(event: RunEvent, now: number): string {
  switch (event.type) {
    case "started":
      return event.startAt === undefined ? "" : `starts at ${timestamp(event.startAt)}`;
    case "step.committed":
      return `attempt ${event.attempt}`;
    case "retry.scheduled":
      return `attempt ${event.attempt} failed: ${shortError(event.error)}; retries at ${preciseTimestamp(event.retryAt)}`;
    case "step.failed":
      return `attempt ${event.attempt} failed: ${shortError(event.error)}`;
    case "parked":
      return event.waits.map((wait) => `${wait.key}: ${describeWait(wait, now)}`).join("; ");
    case "signal.received":
      return `signal "${event.signal}"`;
    case "blocked":
      return shortError(event.error);
    case "failed":
      return event.error.step === undefined ? shortError(event.error) : `${shortError(event.error)}  (step ${event.error.step})`;
    case "rewound":
      return `to step ${event.to}`;
    case "migrated":
      return `to definition ${event.hash.slice(0, 12)}`;
    default:
      return "";
  }
}
