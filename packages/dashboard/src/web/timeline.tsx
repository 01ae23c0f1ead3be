/**
 * A run's history as a timeline: one row per event, oldest first and newest last, each with its store
 * time (to the millisecond: events are often that close), its kind, its step and what it says (an
 * error, a signal's name, what the run waits for). Every value is rendered as text.
 */
import { describeEvent } from "@parkway/core/event-words";
import type { RunEvent } from "../shared/api.js";
import { describeWait, formatPreciseTime, formatTime, relative } from "./format.js";

/** The timeline of `events` (as `client.history` answers them: oldest first). */
export function Timeline({ events, now }: { events: readonly RunEvent[]; now: number }) {
  if (events.length === 0) return <p class="muted">No events recorded.</p>;
  return (
    <ol class="timeline" data-testid="timeline">
      {events.map((event, i) => (
        <li key={i} class={`event event-${event.type.replace(".", "-")}`} data-testid="timeline-event" data-type={event.type}>
          <time dateTime={new Date(event.at).toISOString()} title={relative(event.at, now)}>
            {formatPreciseTime(event.at)}
          </time>
          <span class="event-type">{event.type}</span>
          {"key" in event ? <span class="step-key">{event.key}</span> : null}
          <EventDetail event={event} now={now} />
        </li>
      ))}
    </ol>
  );
}

/** What an event says beyond its kind and step (core's wording), its error in red. */
function EventDetail({ event, now }: { event: RunEvent; now: number }) {
  const text = describeEvent(event, {
    time: formatTime,
    preciseTime: formatPreciseTime,
    wait: (wait) => describeWait(wait, now),
    error: (error) => `${error.code ?? error.name}: ${error.message}`,
  });
  return text === "" ? null : <span class={`event-detail${"error" in event ? " error-text" : ""}`}>{text}</span>;
}
