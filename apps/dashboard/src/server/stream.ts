/**
 * Server-sent event streams: each open stream is one watcher of the live hub,
 * kept alive with a comment every 15s (so proxies do not cut an idle stream)
 * and ended when the browser leaves or the dashboard closes.
 */
import type { Context } from "hono";
import { streamSSE } from "hono/streaming";
import type { StreamEvents } from "../shared/api.js";
import type { LiveHub } from "./live.js";

const KEEPALIVE_MS = 15_000;

/** The open streams, so closing the dashboard can end them (a server waits for open responses before it stops). */
export class StreamSet {
  private readonly closers = new Set<() => void>();

  /** Answers `c` with a stream of `event`s for `key`, read by `read` every `intervalMs` while anyone watches. */
  respond<E extends "run" | "runs">(
    c: Context,
    hub: LiveHub,
    key: string,
    event: E,
    read: () => Promise<StreamEvents[E]>,
    intervalMs: number,
  ): Response {
    return streamSSE(c, async (stream) => {
      let finish!: () => void;
      const finished = new Promise<void>((resolve) => (finish = resolve));
      stream.onAbort(finish);
      this.closers.add(finish);
      // Browsers reconnect an EventSource after `retry` ms; the default of a few seconds feels frozen.
      await stream.writeSSE({ event: "hello", data: "{}", retry: 1000 });
      const stop = hub.watch(key, event, read, intervalMs, (e) => {
        stream.writeSSE({ event: e.event, data: e.data }).catch(finish);
      });
      try {
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
    });
  }

  /** Ends every open stream. */
  closeAll(): void {
    for (const finish of this.closers) finish();
    this.closers.clear();
  }
}
