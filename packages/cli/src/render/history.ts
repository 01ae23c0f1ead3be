/** A run's history as a table: one row per event, oldest first, with what it says in words. */
import { describeEvent, type RunEvent } from "@parkway/core";
import { describeWait, preciseTimestamp, shortError, timestamp } from "./format.js";
import { renderTable } from "./table.js";

/** The `history` page. `now` (epoch ms) is for the relative times of waits. */
export function renderHistory(id: string, events: readonly RunEvent[], now: number): string {
  if (events.length === 0) return `Run ${id} has no recorded events.`;
  const words = {
    time: timestamp,
    preciseTime: preciseTimestamp,
    wait: (wait: Parameters<typeof describeWait>[0]) => describeWait(wait, now),
    error: shortError,
  };
  return renderTable(
    ["TIME", "EVENT", "STEP", "DETAIL"],
    events.map((event) => [preciseTimestamp(event.at), event.type, "key" in event ? event.key : "", describeEvent(event, words)]),
  ).join("\n");
}
