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
import { type Context, propagation, ROOT_CONTEXT } from "@opentelemetry/api";
import type { Wake } from "@parkway/core";
import { keyLayout } from "@parkway/redis";

/** The queue name every worker of a namespace consumes, one queue per partition (each with its own prefix). */
export const WAKE_QUEUE = "wake";

/** What a wake-up job carries. */
export interface WakeJobData {
  readonly id: string;
  /**
   * The trace context of whoever asked for the wake-up (W3C `traceparent`, `tracestate`, ...,
   * as the globally registered propagator writes them), so the run attempt it causes joins
   * that trace. Absent when there was nothing to carry, as always without an OpenTelemetry SDK.
   */
  readonly trace?: Readonly<Record<string, string>>;
}

/** The job data of a wake-up of run `id` asked for in `context`. */
export function wakeJobData(id: string, context: Context): WakeJobData {
  const carrier: Record<string, string> = {};
  propagation.inject(context, carrier);
  // Without an SDK the propagator is a no-op and writes nothing: keep the job as small as before.
  for (const _ in carrier) return { id, trace: carrier };
  return { id };
}

/** The context a wake-up job was asked in: the parent of the run attempt it causes. */
export function wakeJobContext(data: WakeJobData): Context {
  // Jobs are data from Redis: anything but an object (a job from an older version) means none.
  const carrier: unknown = data.trace;
  return typeof carrier === "object" && carrier !== null ? propagation.extract(ROOT_CONTEXT, carrier) : ROOT_CONTEXT;
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

/**
 * BullMQ's prefix for partition `partition` of `partitions` of a namespace: inside the partition's
 * hash tag (`{ns}:bull`, or `{ns:p}:bull`), so a partition's queue and runs share one slot, which is
 * also what BullMQ needs on a Redis Cluster (every key of a queue in one slot).
 */
export function queuePrefix(namespace: string, partition = 0, partitions = 1): string {
  return `${keyLayout(namespace, partition, partitions).prefix}bull`;
}
