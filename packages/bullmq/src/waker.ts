import { context as otelContext, ROOT_CONTEXT } from "@opentelemetry/api";
import type { Wake, Waker } from "@parkway/core";
import { Queue } from "bullmq";
import {
  closeConnection,
  keyLayout,
  partitionOf,
  TIMER_HORIZON_MS,
  type ConnectionWatch,
  type KeyLayout,
  type RedisConnection,
} from "@parkway/redis";
import { queueConnection, type Connection } from "./connection.js";
import { queuePrefix, WAKE_QUEUE, wakeDelay, wakeJobData, wakeJobId, type WakeJobData } from "./wake-jobs.js";

/** How long a run's record of its pending wake-up job ids is kept past the latest one's delay. */
const WAKE_RECORD_SLACK_MS = 24 * 3_600_000;

/**
 * A timer further ahead than this gets no job: the store keeps it in its timers index and the
 * workers promote it ({@link QueueWaker.promote}) once it comes within the horizon. The
 * margin covers the clocks of the store's decision and this one; a timer within it gets both,
 * and the second wake-up finds nothing to do.
 */
const NO_JOB_BEYOND_MS = TIMER_HORIZON_MS + 60_000;

/**
 * How many events BullMQ keeps in each wake-up queue's event stream (its default is 10,000).
 * Nothing of Parkway reads them (runs have their own history); the stream only costs memory,
 * about 1 MB per partition at the default.
 */
const QUEUE_EVENTS_KEPT = 1_000;

/**
 * Wakes runs by adding BullMQ jobs, to the queue of the run's partition. Remembers each run's
 * delayed job ids (a small set per run, expiring on its own) so they can be removed once the run
 * is over: the store's script that finishes, deletes or replaces the run moves them to its
 * partition's stale set, and the workers' sweep removes those jobs ({@link removeStale}). A job
 * due now is not recorded, since a worker takes it at once and finds the run over, and recording
 * it would cost every run a round trip and a key. A timer beyond the store's horizon gets no job
 * at all until a worker promotes it (see `TIMER_HORIZON_MS`). Each job carries the trace context of the
 * wake-up (`wake.trace`, else the active one), so the worker's run span joins the caller's trace.
 */
export class QueueWaker implements Waker {
  private readonly redis: RedisConnection;
  private readonly layouts: readonly KeyLayout[];
  private created: readonly Queue<WakeJobData>[] | null = null;

  constructor(
    connection: Connection,
    private readonly namespace: string,
    watch: ConnectionWatch,
    partitions = 1,
  ) {
    this.redis = queueConnection(connection, "the wake-up queue", watch);
    this.layouts = Array.from({ length: partitions }, (_, p) => keyLayout(namespace, p, partitions));
  }

  /**
   * The wake-up queue of each partition. Made at first use, which comes after the store's first
   * operation: a BullMQ queue writes its meta key when it is made, and a client or worker that the
   * namespace refuses (another partition count) must write nothing under partitions it does not have.
   */
  get queues(): readonly Queue<WakeJobData>[] {
    const partitions = this.layouts.length;
    return (this.created ??= this.layouts.map((_, p) => {
      // Queues only add and remove: they share one connection. Jobs carry no removal options: the
      // worker removes every job it finishes (removeOnComplete/removeOnFail there), and options
      // left out keep a delayed job's hash small (see wake-jobs.ts).
      const queue = new Queue<WakeJobData>(WAKE_QUEUE, {
        connection: this.redis,
        prefix: queuePrefix(this.namespace, p, partitions),
        streams: { events: { maxLen: QUEUE_EVENTS_KEPT } },
      });
      // Without a listener BullMQ prints each connection error with its stack. The connection watch
      // reports outages once per retry, and a failed command rejects at its caller.
      queue.on("error", () => undefined);
      return queue;
    }));
  }

  /** The wake-up queue of partition 0: the namespace's only one when it has one partition. */
  get queue(): Queue<WakeJobData> {
    return this.queues[0]!;
  }

  /** The wake-up queue of run `id`'s partition. */
  queueOf(id: string): Queue<WakeJobData> {
    return this.queues[partitionOf(id, this.queues.length)]!;
  }

  async wake(id: string, wake: Wake): Promise<void> {
    // A parked run's far timer (or a far delayed start) is in the store's timers index.
    if ((wake.reason === "timer" || wake.reason === "start") && wakeDelay(wake) > NO_JOB_BEYOND_MS) return;
    await this.add(id, wake);
  }

  /** Adds the wake-up job of a far timer a worker took from the store's timers index, whatever its delay. */
  promote(id: string, dueAt: number, now: number): Promise<void> {
    return this.add(id, { reason: "timer", version: 0, dueAt, now, trace: ROOT_CONTEXT });
  }

  private async add(id: string, wake: Wake): Promise<void> {
    const jobId = wakeJobId(id, wake);
    const delay = wakeDelay(wake);
    const adding = this.queueOf(id).add("advance", wakeJobData(id, wake.trace ?? otelContext.active()), { jobId, delay });
    if (delay === 0) {
      await adding;
      return;
    }
    // The delay is whole milliseconds (wakeDelay), as PEXPIRE takes: a MULTI whose PEXPIRE fails
    // still adds the id, leaving a record without a TTL.
    const keepMs = delay + WAKE_RECORD_SLACK_MS;
    await Promise.all([adding, this.redis.multi().sadd(this.pendingKey(id), jobId).pexpire(this.pendingKey(id), keepMs).exec()]);
  }

  /**
   * Removes up to `limit` wake-up jobs of partition `partition`'s runs that are over (see the class
   * comment); returns how many ids it took. An active job is not removed (it runs, finds the run
   * over, and goes when it completes); nor is one whose removal failed (it runs when due, for nothing).
   */
  async removeStale(partition: number, limit = 1000): Promise<number> {
    const jobIds = await this.redis.spop(this.layouts[partition]!.staleWakes, limit);
    const queue = this.queues[partition]!;
    await Promise.all(jobIds.map((jobId) => queue.remove(jobId).catch(() => 0)));
    return jobIds.length;
  }

  async close(): Promise<void> {
    await Promise.all((this.created ?? []).map((queue) => queue.close()));
    await closeConnection(this.redis);
  }

  /** The run's pending wake-up ids, in its partition's slot (they expire with the run, and go when it is deleted). */
  private pendingKey(id: string): string {
    return this.layouts[partitionOf(id, this.layouts.length)]!.wakes(id);
  }
}
