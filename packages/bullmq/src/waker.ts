import { context as otelContext } from "@opentelemetry/api";
import type { Wake, Waker } from "@parkway/core";
import { Queue } from "bullmq";
import { closeConnection, type ConnectionWatch, type RedisConnection } from "@parkway/redis";
import { queueConnection, type Connection } from "./connection.js";
import { queuePrefix, WAKE_QUEUE, wakeDelay, wakeJobData, wakeJobId, type WakeJobData } from "./wake-jobs.js";

/** How long a run's record of its pending wake-up job ids is kept past the latest one's delay. */
const WAKE_RECORD_SLACK_MS = 24 * 3_600_000;

/**
 * Wakes runs by adding BullMQ jobs. Remembers each run's delayed job ids (a
 * small set per run, expiring on its own) so `cancel` can remove them: a job
 * due now is not recorded, since a worker takes it at once and finds the run
 * cancelled, and recording it would cost every run a round trip and a key. Each job
 * carries the trace context of the wake-up (`wake.trace`, else the active one),
 * so the worker's run span joins the caller's trace.
 */
export class QueueWaker implements Waker {
  readonly queue: Queue<WakeJobData>;
  private readonly redis: RedisConnection;

  constructor(
    connection: Connection,
    private readonly namespace: string,
    watch: ConnectionWatch,
  ) {
    this.redis = queueConnection(connection, "the wake-up queue", watch);
    this.queue = new Queue<WakeJobData>(WAKE_QUEUE, {
      connection: this.redis,
      prefix: queuePrefix(namespace),
      defaultJobOptions: { removeOnComplete: true, removeOnFail: true },
    });
    // Without a listener BullMQ prints each connection error with its stack. The connection watch
    // reports outages once per retry, and a failed command rejects at its caller.
    this.queue.on("error", () => undefined);
  }

  async wake(id: string, wake: Wake): Promise<void> {
    const jobId = wakeJobId(id, wake);
    const delay = wakeDelay(wake);
    const adding = this.queue.add("advance", wakeJobData(id, wake.trace ?? otelContext.active()), { jobId, delay });
    if (delay === 0) {
      await adding;
      return;
    }
    await Promise.all([
      adding,
      this.redis
        .multi()
        .sadd(this.pendingKey(id), jobId)
        .pexpire(this.pendingKey(id), delay + WAKE_RECORD_SLACK_MS)
        .exec(),
    ]);
  }

  /** Removes the run's delayed wake-up jobs (one due now, or active, runs and finds the run cancelled). */
  async forget(id: string): Promise<void> {
    const jobIds = await this.redis.smembers(this.pendingKey(id));
    await Promise.all(jobIds.map((jobId) => this.queue.remove(jobId).catch(() => 0)));
    await this.redis.del(this.pendingKey(id));
  }

  async close(): Promise<void> {
    await this.queue.close();
    await closeConnection(this.redis);
  }

  private pendingKey(id: string): string {
    return `{${this.namespace}}:wakes:${id}`;
  }
}
