/**
 * Store events over Redis pub/sub: `onFinish` (every script that finishes a
 * run publishes `[id, status]` on its partition's `finished` channel in the
 * same atomic step) and `onCancel` (the cancel script publishes the id of a
 * running run on `cancels`). A subscribed connection can run nothing else, so
 * each event listens on a duplicate of the store's connection, created on
 * first use and owned by the store, subscribed to every partition's channel.
 *
 * The scripts PUBLISH (not SPUBLISH): on a Redis Cluster a message reaches
 * every node, so one subscriber on any node hears every partition, and a
 * script stays within its partition's slot. The cost is a message per node
 * per finished run, small beside the run's own writes.
 */
import type { RunStatus } from "@parkway/core";
import type { ConnectionWatch } from "./connection-errors.js";
import { closeConnection, duplicateConnection, type RedisConnection } from "./connection.js";

/** The listeners of one event of one store (a channel per partition), and the connection they share. */
export class Channel<Args extends unknown[]> {
  private readonly listeners = new Set<(...args: Args) => void>();
  private readonly gapListeners = new Set<() => void>();
  private subscriber: RedisConnection | null = null;
  private subscribed: Promise<void> | null = null;

  constructor(
    private readonly connection: RedisConnection,
    private readonly channels: readonly string[],
    /** Turns a message into the listeners' arguments; null for a malformed one. */
    private readonly parse: (message: string) => Args | null,
    private readonly onWarning: (message: string) => void,
    private readonly connectionWatch: ConnectionWatch,
  ) {}

  /**
   * Adds `listener`; resolves once the subscription is active, so no later message is missed
   * while it holds. `onGap` is told each time the subscription is back after its connection
   * dropped: messages published in between are lost.
   */
  async add(listener: (...args: Args) => void, onGap?: () => void): Promise<() => Promise<void>> {
    this.listeners.add(listener);
    if (onGap) this.gapListeners.add(onGap);
    try {
      await (this.subscribed ??= this.subscribe());
    } catch (error) {
      this.listeners.delete(listener);
      if (onGap) this.gapListeners.delete(onGap);
      this.subscribed = null;
      throw error;
    }
    return async () => {
      this.listeners.delete(listener);
      if (onGap) this.gapListeners.delete(onGap);
    };
  }

  /** Drops every listener and quits the subscriber connection. */
  async close(): Promise<void> {
    this.listeners.clear();
    this.gapListeners.clear();
    const subscriber = this.subscriber;
    this.subscriber = null;
    this.subscribed = null;
    if (subscriber) await closeConnection(subscriber);
  }

  private async subscribe(): Promise<void> {
    const subscriber = duplicateConnection(this.connection);
    this.subscriber = subscriber;
    this.connectionWatch.watch(subscriber);
    subscriber.on("message", (channel: string, message: string) => {
      if (this.channels.includes(channel)) this.deliver(channel, message);
    });
    let active = false;
    subscriber.on("ready", () => {
      if (!active) return;
      // Reconnected: ioredis subscribes again on its own; this SUBSCRIBE (harmless twice) tells
      // when the subscription is active, after which the listeners may look for what they missed.
      void subscriber.subscribe(...this.channels).then(
        () => this.gap(),
        () => undefined,
      );
    });
    await subscriber.subscribe(...this.channels);
    active = true;
  }

  private gap(): void {
    for (const listener of [...this.gapListeners]) {
      try {
        listener();
      } catch (error) {
        this.onWarning(
          `a listener of ${this.channels.join(", ")} threw after a reconnect: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    }
  }

  private deliver(channel: string, message: string): void {
    const args = this.parse(message);
    if (args === null) {
      this.onWarning(`ignored a malformed message on ${channel}: ${message.slice(0, 100)}`);
      return;
    }
    for (const listener of [...this.listeners]) {
      // A listener that throws must not stop the others, nor the subscriber.
      try {
        listener(...args);
      } catch (error) {
        this.onWarning(`a listener of ${channel} threw: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
}

/** A `finished` message: `[id, status]` as JSON. */
export function parseFinished(message: string): [string, RunStatus] | null {
  try {
    const parsed: unknown = JSON.parse(message);
    return Array.isArray(parsed) && typeof parsed[0] === "string" && typeof parsed[1] === "string"
      ? [parsed[0], parsed[1] as RunStatus]
      : null;
  } catch {
    return null;
  }
}

/** A `cancels` message: the run id as is. */
export function parseCancel(message: string): [string] {
  return [message];
}
