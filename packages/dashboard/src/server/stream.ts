/**
 * Server-sent event streams: each open stream is one watcher of the live hub,
 * kept alive with a comment every 15s (so proxies do not cut an idle stream)
 * and ended when the browser leaves or the dashboard closes. Streams are
 * bounded, per client address and in all, because each distinct view is a
 * poll of the store: past the bound a new stream gets 429.
 */
import type { Context } from "hono";
import { streamSSE, type SSEStreamingApi } from "hono/streaming";
import type { LiveEventName, StreamEvents } from "../shared/api.js";
import { HttpError } from "./errors.js";
import type { LiveHub } from "./live.js";

const KEEPALIVE_MS = 15_000;

/** How many live streams may be open at once. */
export interface StreamLimits {
  /** From one client address (default 16: a browser holds about 6 connections per host, so this is several browsers). */
  readonly perClient: number;
  /** In all (default 128). */
  readonly total: number;
}

export const DEFAULT_STREAM_LIMITS: StreamLimits = { perClient: 16, total: 128 };

/** The open streams, so closing the dashboard can end them (a server waits for open responses before it stops). */
export class StreamSet {
  private readonly closers = new Set<() => void>();
  private readonly byClient = new Map<string, number>();
  private open = 0;

  constructor(private readonly limits: StreamLimits = DEFAULT_STREAM_LIMITS) {}

  /**
   * Answers `c` with a stream of `event`s for `key`, read by `read` every
   * `intervalMs` while anyone watches. @throws HttpError 429 when `client`
   * (a remote address) or the dashboard already has as many streams as allowed
   */
  respond<E extends LiveEventName>(
    c: Context,
    client: string,
    hub: LiveHub,
    key: string,
    event: E,
    read: () => Promise<StreamEvents[E]>,
    intervalMs: number,
  ): Response {
    const mine = this.byClient.get(client) ?? 0;
    if (mine >= this.limits.perClient || this.open >= this.limits.total) {
      c.header("Retry-After", "10");
      const which = mine >= this.limits.perClient ? `${this.limits.perClient} from one address` : `${this.limits.total} in all`;
      throw new HttpError(429, "TOO_MANY_STREAMS", `too many live streams are open (at most ${which}); close a dashboard tab`);
    }
    this.open++;
    this.byClient.set(client, mine + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.open--;
      const left = (this.byClient.get(client) ?? 1) - 1;
      if (left > 0) this.byClient.set(client, left);
      else this.byClient.delete(client);
    };
    return streamSSE(c, async (stream) => {
      try {
        await this.serve(stream, hub, key, event, read, intervalMs);
      } finally {
        release();
      }
    });
  }

  private async serve<E extends LiveEventName>(
    stream: SSEStreamingApi,
    hub: LiveHub,
    key: string,
    event: E,
    read: () => Promise<StreamEvents[E]>,
    intervalMs: number,
  ): Promise<void> {
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    stream.onAbort(finish);
    this.closers.add(finish);
    let stop = () => {};
    try {
      // Browsers reconnect an EventSource after `retry` ms; the default of a few seconds feels frozen.
      await stream.writeSSE({ event: "hello", data: "{}", retry: 1000 });
      stop = hub.watch(key, event, read, intervalMs, (e) => {
        stream.writeSSE({ event: e.event, data: e.data }).catch(finish);
      });
      while (!stream.aborted && !stream.closed) {
        let timer: NodeJS.Timeout | undefined;
        const ping = await Promise.race([
          finished.then(() => false),
          new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), KEEPALIVE_MS))),
        ]);
        clearTimeout(timer);
        if (!ping) break;
        await stream.write(": keepalive\n\n");
      }
    } finally {
      stop();
      this.closers.delete(finish);
    }
  }

  /** Streams open now. */
  get size(): number {
    return this.open;
  }

  /** Ends every open stream. */
  closeAll(): void {
    for (const finish of this.closers) finish();
    this.closers.clear();
  }
}
