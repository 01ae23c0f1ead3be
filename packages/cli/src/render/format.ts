/**
 * Small formatters shared by the tree and the tables: values as short JSON,
 * store times as UTC timestamps with a relative hint, durations in words.
 */
import type { AttemptRecord, SerializedError, Wait } from "@parkway/core";
import { toJson } from "../output.js";

/** A value as one line of JSON, cut to `max` characters. */
export function shortValue(value: unknown, max = 60): string {
  return truncate(toJson(value), max);
}

/** `text` cut to `max` characters, with an ellipsis when cut. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** A store time (epoch ms) in UTC, with how far it is from `now`. */
export function timeAt(epochMs: number, now: number): string {
  return `${timestamp(epochMs)} (${relative(epochMs - now)})`;
}

/** A store time in UTC to the second ("2026-11-29 12:00:05Z"), or "-" for none. */
export function timestamp(epochMs: number | null): string {
  return epochMs === null
    ? "-"
    : new Date(epochMs)
        .toISOString()
        .replace("T", " ")
        .replace(/\.\d+Z$/, "Z");
}

function relative(deltaMs: number): string {
  if (Math.abs(deltaMs) < 1000) return "now";
  return deltaMs > 0 ? `in ${duration(deltaMs)}` : `${duration(-deltaMs)} ago`;
}

/** Milliseconds in words: "250ms", "4s", "2m 5s", "3h 10m", "2d 4h". */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const units: [string, number][] = [
    ["d", 86_400_000],
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1000],
  ];
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, size] of units) {
    const count = Math.floor(rest / size);
    if (count > 0 || parts.length > 0) parts.push(`${count}${unit}`);
    rest -= count * size;
    if (parts.length === 2) break;
  }
  const [first, second] = parts;
  return second === undefined || second.startsWith("0") ? first! : `${first} ${second}`;
}

/** What a wait is for, in words. */
export function describeWait(wait: Wait, now: number): string {
  if (wait.kind === "timer") {
    if (wait.reason === "slot") return `waits for a slot of "${wait.slot ?? "?"}", looks again at ${timeAt(wait.until, now)}`;
    const what = { delay: "wakes", retry: "retries", timeout: "times out", start: "starts", child: "looks at its child" }[wait.reason];
    return `${what} at ${timeAt(wait.until, now)}`;
  }
  if (wait.child !== undefined) return `waits for child run ${wait.child} to end`;
  const timeout = wait.timeoutAt === null ? "no timeout" : `times out at ${timeAt(wait.timeoutAt, now)}`;
  return `waits for signal "${wait.signal}", ${timeout}`;
}

/** A store time in UTC to the millisecond ("2026-11-29 12:00:05.123Z"): history events are often ms apart. */
export function preciseTimestamp(epochMs: number): string {
  return new Date(epochMs).toISOString().replace("T", " ");
}

/** "attempt 2 failed: TypeError: boom", from a step's attempt records and its last error. */
export function lastFailure(attempts: readonly AttemptRecord[], error: SerializedError): string {
  const failed = attempts.findLast((a) => a.error !== null);
  return `${failed === undefined ? "an attempt" : `attempt ${failed.attempt}`} failed: ${shortError(error)}`;
}

/** An error in one line: its code (when it has one) and message. */
export function shortError(error: SerializedError): string {
  return error.code === undefined ? `${error.name}: ${error.message}` : `${error.code}: ${error.message}`;
}
