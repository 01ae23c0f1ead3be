/**
 * Argument parsers. Each throws commander's `InvalidArgumentError`, which
 * commander reports naming the option or argument (`option '--input <json>'
 * argument '{x' is invalid. ...`), and the CLI exits with code 2.
 */
import { toMs, type RunStatus } from "@parkway/core";
import { InvalidArgumentError } from "commander";

/** Every status `list --status` accepts. */
export const RUN_STATUSES: readonly RunStatus[] = ["pending", "running", "parked", "paused", "completed", "failed", "cancelled"];

/**
 * A parsed JSON argument. Boxed because commander replaces an option value of
 * `null` with "": `--input null` must reach the run as null.
 */
export interface JsonArg {
  readonly json: unknown;
}

/** Parses a JSON document (`--input`, `--payload`). */
export function parseJson(text: string): JsonArg {
  try {
    return { json: JSON.parse(text) as unknown };
  } catch (error) {
    throw new InvalidArgumentError(`It is not valid JSON (${(error as Error).message}). Quote it for your shell, e.g. '{"id": 42}'.`);
  }
}

/** Parses a duration: "30s", "5m", "2h", "1d", "250ms", or bare milliseconds. */
export function parseDuration(text: string): number {
  try {
    return toMs(/^\d+$/.test(text) ? Number(text) : text);
  } catch {
    throw new InvalidArgumentError('It is not a duration: use a number and a unit, such as "30s", "5m", "2h" or "250ms".');
  }
}

/** Parses `--partitions`: an integer from 1 to 128. */
export function parsePartitions(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 128) throw new InvalidArgumentError("It must be an integer from 1 to 128.");
  return n;
}

/**
 * Parses a point in time (`--since`, `--until`, `--finished-before`): an ISO 8601 date or time, or a duration meaning
 * that long ago ("90m", "2d"). Returns ms since the epoch.
 */
export function parseTime(text: string): number {
  return timeFrom(text, Date.now());
}

/** {@link parseTime} at a given now. */
export function timeFrom(text: string, now: number): number {
  if (/^\d+(\.\d+)?\s*[a-z]+$/i.test(text.trim())) {
    try {
      return Math.max(0, now - toMs(text.trim()));
    } catch {
      // Not a duration after all: try it as a date below.
    }
  }
  const at = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : Number.NaN;
  if (!Number.isFinite(at) || at < 0) {
    throw new InvalidArgumentError('It is not a time: use an ISO time such as "2024-05-01T12:00:00Z", or a duration ago such as "2h".');
  }
  return at;
}

/** Parses `--limit`: an integer from 1 to 10000. */
export function parseLimit(text: string): number {
  const limit = Number(text);
  if (!/^\d+$/.test(text) || !Number.isInteger(limit) || limit < 1 || limit > 10_000) {
    throw new InvalidArgumentError("It must be an integer from 1 to 10000.");
  }
  return limit;
}

/** Parses a positive integer (`--concurrency`). */
export function parsePositiveInt(text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < 1) throw new InvalidArgumentError("It must be a positive integer.");
  return value;
}

/** Checks an id or a name: non-empty, at most 512 characters (what the store accepts). */
export function parseId(text: string): string {
  if (text.length === 0 || text.length > 512) throw new InvalidArgumentError("It must be a non-empty string of at most 512 characters.");
  return text;
}
