/**
 * Retention settings as users write them (durations, "forever") and as the
 * stores keep them (milliseconds, null for ever).
 */
import { type Duration, toMs } from "../duration.js";
import { ValidationError } from "../errors.js";
import { checkOptions, optionNames } from "../options.js";
import type { FinishedStatus, RetentionMs } from "./types.js";

/** How long a finished run is kept: a duration, or `"forever"`. */
export type RetentionPeriod = Duration | "forever";

/**
 * How long finished runs are kept, per finished status. Defaults: completed
 * and cancelled `"7d"`, failed `"30d"`. A workflow's own (`flow(name, { retention })`)
 * wins over the namespace's (the `retention` option of a worker or engine).
 */
export interface RetentionPolicy {
  readonly completed?: RetentionPeriod;
  readonly failed?: RetentionPeriod;
  readonly cancelled?: RetentionPeriod;
}

const RETENTION_OPTIONS = optionNames<RetentionPolicy>({ completed: true, failed: true, cancelled: true });

/** Longest retention short of `"forever"`: 10 years. */
const MAX_RETENTION_MS = 3650 * 86_400_000;

/**
 * A retention policy in milliseconds (`null` for ever).
 * @throws ValidationError naming `what` and the status whose period is not a duration of 1ms to 10 years or "forever"
 */
export function resolveRetention(policy: unknown, what: string): RetentionMs {
  checkOptions(what, policy, RETENTION_OPTIONS);
  const out: { -readonly [K in FinishedStatus]?: number | null } = {};
  for (const [status, period] of Object.entries(policy as RetentionPolicy) as [FinishedStatus, unknown][]) {
    if (period === undefined) continue;
    if (period === "forever") {
      out[status] = null;
      continue;
    }
    const ms = toMs(period, `${what}.${status}`);
    if (ms < 1 || ms > MAX_RETENTION_MS) {
      throw new ValidationError(`${what}.${status} must be from 1ms to 3650d, or "forever"`, { option: status });
    }
    out[status] = ms;
  }
  return out;
}
