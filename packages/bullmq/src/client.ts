import { DurableClient, WorkflowRegistry, type Workflow } from "@parkway/core";
import { RedisStore } from "@parkway/redis";
import type { Connection } from "./connection.js";
import { QueueWaker } from "./waker.js";

export interface ParkwayClientOptions {
  /** A Redis URL, or an ioredis connection to share. */
  readonly connection: Connection;
  /** Runs and queues live under the hash tag `{namespace}` (default "parkway"). */
  readonly namespace?: string;
  /** Lets `start` take a workflow by name. */
  readonly workflows?: readonly Workflow<never, unknown>[];
  readonly maxPayloadBytes?: number;
}

/**
 * Starts, signals, watches and steers runs on Redis. Needs only a Redis
 * connection: workers, anywhere, advance the runs.
 */
export class ParkwayClient extends DurableClient {
  override readonly store: RedisStore;
  /** The wake-up queue, for tools that inspect it. */
  readonly wakeQueue: QueueWaker;

  constructor(options: ParkwayClientOptions) {
    const namespace = options.namespace ?? "parkway";
    const store = new RedisStore({
      connection: options.connection,
      namespace,
      ...(options.maxPayloadBytes ? { maxPayloadBytes: options.maxPayloadBytes } : {}),
    });
    const waker = new QueueWaker(options.connection, namespace);
    super({
      store,
      waker,
      ...(options.workflows ? { workflows: new WorkflowRegistry(options.workflows) } : {}),
      ...(options.maxPayloadBytes ? { maxPayloadBytes: options.maxPayloadBytes } : {}),
    });
    this.store = store;
    this.wakeQueue = waker;
  }

  override async close(): Promise<void> {
    await super.close();
    await this.store.close();
  }
}
