/**
 * Wake-up jobs: BullMQ jobs that mean "advance run X". They are hints; the
 * store is the truth.
 *
 * Job ids are a trap: BullMQ silently drops a job whose id exists, even a
 * completed, delayed or active one. So a wake-up's id carries its reason and
 * the run's version (and deadline), which makes every distinct wake-up a new
 * id, while the same wake-up asked twice (two workers sweeping) collapses into
 * one job. Ids never contain ":" and never are all digits.
 */
import type { Wake } from "@parkway/core";

/** The queue every worker of a namespace consumes. */
export const WAKE_QUEUE = "wake";

/** What a wake-up job carries. */
export interface WakeJobData {
  readonly id: string;
}

/** The job id of a wake-up. Sweeps use one id per run: at most one sweep job waits per run. */
export function wakeJobId(id: string, wake: Wake): string {
  const run = Buffer.from(id).toString("base64url");
  if (wake.reason === "sweep") return `sweep-${run}`;
  const due = wake.dueAt === null ? "" : `-t${wake.dueAt}`;
  // A re-wake asked by a job (an early or busy look) carries the store's now: the asking job is
  // still active, and BullMQ would drop a job reusing its id.
  const asked = wake.now === undefined ? "" : `-n${wake.now}`;
  return `${wake.reason}-${run}-v${wake.version}${due}${asked}`;
}

/** Milliseconds until `wake.dueAt`, measured on the store's clock when the caller has it. */
export function wakeDelay(wake: Wake): number {
  if (wake.dueAt === null) return 0;
  return Math.max(0, wake.dueAt - (wake.now ?? Date.now()));
}

/** BullMQ's prefix for a namespace: inside the namespace's hash tag, so queue and store share one slot. */
export function queuePrefix(namespace: string): string {
  return `{${namespace}}:bull`;
}
