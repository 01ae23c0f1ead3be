/** How times, durations and waits read on the dashboard. */
import { useEffect, useState } from "preact/hooks";
import type { Wait } from "../shared/api.js";

/** `2025-03-01 14:05:09`, in the browser's time zone. */
export function formatTime(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

/** `2025-03-01 14:05:09.042`, in the browser's time zone: a run's events are often milliseconds apart. */
export function formatPreciseTime(ms: number): string {
  return `${formatTime(ms)}.${String(new Date(ms).getMilliseconds()).padStart(3, "0")}`;
}

/** `300ms`, `45s`, `10m`, `2h 30m`, `2d`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const units: [string, number][] = [
    ["d", 86_400_000],
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1000],
  ];
  const parts: string[] = [];
  let rest = Math.round(ms / 1000) * 1000;
  for (const [unit, size] of units) {
    if (rest >= size && parts.length < 2) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join(" ");
}

/** `in 3s`, `5m ago`. */
export function relative(ms: number, now: number): string {
  const delta = ms - now;
  if (Math.abs(delta) < 1000) return "now";
  return delta > 0 ? `in ${formatDuration(delta)}` : `${formatDuration(-delta)} ago`;
}

/** The current time, refreshed every `everyMs`, for "in 3s" labels that count down. */
export function useNow(everyMs = 1000): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}

/** `ms` as a `datetime-local` input's value (`2025-03-01T14:05`), in the browser's time zone. */
export function toLocalInput(ms: number): string {
  return formatTime(ms).slice(0, 16).replace(" ", "T");
}

/** A `datetime-local` input's value as ms since the epoch (read in the browser's time zone); undefined when empty or not a time. */
export function fromLocalInput(text: string): number | undefined {
  if (text === "") return undefined;
  const ms = new Date(text).getTime();
  return Number.isNaN(ms) ? undefined : ms;
}

/** What a wait is for, in words, with its time. */
export function describeWait(wait: Wait, now: number): string {
  if (wait.kind === "timer") {
    if (wait.reason === "slot") return `waits for a slot of ${wait.slot ?? "?"}`;
    const what = wait.reason === "retry" ? "retries" : wait.reason === "timeout" ? "times out" : "wakes";
    return `${what} at ${formatTime(wait.until)} (${relative(wait.until, now)})`;
  }
  return wait.timeoutAt === null
    ? `parked until signal "${wait.signal}" arrives`
    : `parked until signal "${wait.signal}" arrives, or times out at ${formatTime(wait.timeoutAt)} (${relative(wait.timeoutAt, now)})`;
}
