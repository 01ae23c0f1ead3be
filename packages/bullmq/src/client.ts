import { checkOptions, DurableClient, optionNames, resolveLogger, WorkflowRegistry, type Logger, type Workflow } from "@parkway/core";
import { checkConnection, partitionsOption, RedisStore } from "@parkway/redis";
import type { Connection } from "./connection.js";
import { QueueWaker } from "./waker.js";

export interface ParkwayClientOptions {
  /**
   * A Redis URL or ioredis options (`{ host, port, ... }`): the client opens its connections and
   * `close()` closes them. Or an ioredis `Redis` or `Cluster` to share: the client never closes it.
   */
  readonly connection: Connection;
  /** Runs and queues live under the hash tag `{namespace}`, or `{namespace:p}` per partition (default "parkway"). */
  readonly namespace?: string;
  /**
   * The namespace's partition count (1 to 128, default 1), fixed when the namespace is first used:
   * give every client and worker of a namespace the same. A different count is a `ValidationError`
   * naming both at the client's first operation.
   */
  readonly partitions?: number;
  /** Lets `start` take a workflow by name. */
  readonly workflows?: readonly Workflow<never, unknown>[];
  readonly maxPayloadBytes?: number;
  /** A pino-style logger: Redis outages, wake-ups that could not be sent. Silent by default. */
  readonly logger?: Logger;
}

const CLIENT_OPTIONS = optionNames<ParkwayClientOptions>({
  connection: true,
  namespace: true,
  partitions: true,
  workflows: true,
  maxPayloadBytes: true,
  logger: true,
});

/**
 * Starts, signals, watches and steers runs on Redis. Needs only a Redis
 * connection: workers, anywhere, advance the runs.
 */
export class ParkwayClient extends DurableClient {
  override readonly store: RedisStore;
  /** The wake-up queue, for tools that inspect it. */
  readonly wakeQueue: QueueWaker;

  constructor(options: ParkwayClientOptions) {
    checkOptions("ParkwayClient", options, CLIENT_OPTIONS);
    checkConnection(options.connection, "ParkwayClient");
    const namespace = options.namespace ?? "parkway";
    const partitions = partitionsOption(options.partitions);
    const logger = resolveLogger(options.logger, "ParkwayClient");
    const store = new RedisStore({
      connection: options.connection,
      namespace,
      partitions,
      logger,
      ...(options.maxPayloadBytes ? { maxPayloadBytes: options.maxPayloadBytes } : {}),
    });
    const waker = new QueueWaker(options.connection, namespace, store.connectionWatch, partitions);
    super({
      store,
      waker,
      logger,
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
