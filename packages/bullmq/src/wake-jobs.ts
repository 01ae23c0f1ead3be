/**
 * Wake-up jobs: BullMQ jobs that mean "advance run X". They are hints; the
 * store is the truth.
 *
 * Job ids are a trap: BullMQ silently drops a job whose id exists, even a
 * completed, delayed or active one. So a wake-up's id is derived from its
 * reason, the run and the run's version (and deadline), which makes every
 * distinct wake-up a new id, while the same wake-up asked twice (two workers
 * sweeping) collapses into one job. Ids never contain ":" and never are all digits.
 *
 * Jobs are kept lean, since a delayed one stays in Redis as long as its run is
 * parked: a short id (its reason and a digest), a whole-millisecond delay, and
 * no removal options (the worker's own apply). Then every field of the job's
 * hash, its options JSON included, stays under Redis's 64-byte
 * `hash-max-listpack-value`, and the hash stays a listpack.
 */
import { createHash } from "node:crypto";
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

/**
 * The job id of a wake-up: `<reason>-<digest>`, the digest 64 bits of a SHA-1 of what makes the
 * wake-up distinct (11 base64url characters). Sweeps use one id per run: at most one sweep job
 * waits per run. Two distinct wake-ups share an id with odds of about n²/2⁶⁵ among n jobs waiting
 * at once; the one dropped then is a hint, and the sweep finds its run.
 */
export function wakeJobId(id: string, wake: Wake): string {
  if (wake.reason === "sweep") return `sweep-${digest([id])}`;
  // A re-wake asked by a job (an early or busy look) carries the store's now: the asking job is
  // still active, and BullMQ would drop a job reusing its id.
  return `${wake.reason}-${digest([id, wake.version, wake.dueAt, wake.now ?? null])}`;
}

function digest(parts: readonly unknown[]): string {
  return createHash("sha1").update(JSON.stringify(parts)).digest().subarray(0, 8).toString("base64url");
}

/**
 * Milliseconds until `wake.dueAt`, measured on the store's clock when the caller has it, rounded
 * up (a whole number keeps the job's options short; a wake-up a fraction late is never early).
 */
export function wakeDelay(wake: Wake): number {
  if (wake.dueAt === null) return 0;
  return Math.max(0, Math.ceil(wake.dueAt - (wake.now ?? Date.now())));
}

/**
 * BullMQ's prefix for partition `partition` of `partitions` of a namespace: inside the partition's
 * hash tag (`{ns}:bull`, or `{ns:p}:bull`), so a partition's queue and runs share one slot, which is
 * also what BullMQ needs on a Redis Cluster (every key of a queue in one slot).
 */
export function queuePrefix(namespace: string, partition = 0, partitions = 1): string {
  return `${keyLayout(namespace, partition, partitions).prefix}bull`;
}
