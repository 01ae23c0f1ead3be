/**
 * `onFinish` over Redis pub/sub. Every script that finishes a run publishes
 * `[id, status]` on the namespace's channel in the same atomic step. A
 * subscribed connection can run nothing else, so listening uses a duplicate
 * connection of the store's own, created on first use and owned by the store.
 */
import type { FinishListener, RunStatus } from "@parkway/core";
import type { ConnectionWatch } from "./connection-errors.js";
import { closeConnection, duplicateConnection, type RedisConnection } from "./connection.js";

/** The listeners of one store and the connection they share. */
export class FinishChannel {
  private readonly listeners = new Set<FinishListener>();
  private subscriber: RedisConnection | null = null;
  private subscribed: Promise<void> | null = null;

  constructor(
    private readonly connection: RedisConnection,
    private readonly channel: string,
    private readonly onWarning: (message: string) => void,
    private readonly connectionWatch: ConnectionWatch,
  ) {}

  /** Adds `listener`; resolves once the subscription is active, so no later finish is missed. */
  async add(listener: FinishListener): Promise<() => Promise<void>> {
    this.listeners.add(listener);
    try {
      await (this.subscribed ??= this.subscribe());
    } catch (error) {
      this.listeners.delete(listener);
      this.subscribed = null;
      throw error;
    }
    return async () => {
      this.listeners.delete(listener);
    };
  }

  /** Drops every listener and quits the subscriber connection. */
  async close(): Promise<void> {
    this.listeners.clear();
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
      if (channel === this.channel) this.deliver(message);
    });
    await subscriber.subscribe(this.channel);
  }

  private deliver(message: string): void {
    let id: string;
    let status: RunStatus;
    try {
      [id, status] = JSON.parse(message) as [string, RunStatus];
    } catch {
      this.onWarning(`ignored a malformed finish message on ${this.channel}: ${message.slice(0, 100)}`);
      return;
    }
    for (const listener of [...this.listeners]) {
      // A listener that throws must not stop the others, nor the subscriber.
      try {
        listener(id, status);
      } catch (error) {
        this.onWarning(`an onFinish listener threw: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
}
