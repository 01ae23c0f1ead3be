/**
 * Live updates by polling, shared between viewers. Every watched key (a run
 * id, a list query) is read once per interval however many browsers watch
 * it, and a viewer is sent an event only when what it would see changed. A
 * key whose reads keep answering the same is read less and less often (up to
 * {@link MAX_BACKOFF} times its interval); a change, or an action on the run,
 * brings it back to its interval.
 *
 * Polling the store rather than subscribing to its events is deliberate: the
 * store only announces finished runs, while the page must also move when a
 * step commits or a run parks; a 250ms read of one run is cheap and never misses.
 */
import type { LiveEventName, StreamEvents } from "../shared/api.js";
import { errorResponse } from "./errors.js";

/** One server-sent event, its data already serialized. */
export interface LiveEvent {
  readonly event: keyof StreamEvents;
  readonly data: string;
}

type Listener = (event: LiveEvent) => void;

/** How many times its interval an unchanging key waits at most between two reads. */
export const MAX_BACKOFF = 4;

interface Entry {
  readonly listeners: Set<Listener>;
  last: LiveEvent | null;
  /** The armed next read; null while a read is in flight. */
  timer: NodeJS.Timeout | null;
  stopped: boolean;
  /** Reads now and goes back to the base interval (no-op while a read is in flight). */
  wake: () => void;
}

/** Polls watched keys and fans changes out to their listeners. */
export class LiveHub {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly onUnexpected: (error: unknown) => void = () => {}) {}

  /**
   * Starts telling `listener` about `key`: at once with the current state, then
   * on every change. `read` is called only by the first watcher of a key (and
   * its polls are shared). Returns the function that stops watching.
   */
  watch<E extends LiveEventName>(key: string, event: E, read: () => Promise<StreamEvents[E]>, intervalMs: number, listener: Listener) {
    let entry = this.entries.get(key);
    if (!entry) {
      entry = { listeners: new Set(), last: null, timer: null, stopped: false, wake: () => {} };
      this.entries.set(key, entry);
      this.poll(key, entry, event, read, intervalMs);
    } else if (entry.last) {
      listener(entry.last);
    }
    entry.listeners.add(listener);
    const watched = entry;
    return () => {
      watched.listeners.delete(listener);
      if (watched.listeners.size > 0) return;
      watched.stopped = true;
      if (watched.timer) clearTimeout(watched.timer);
      if (this.entries.get(key) === watched) this.entries.delete(key);
    };
  }

  /** Reads `key` now, if anyone watches it (after an action, so the change shows at once whatever the backoff). */
  wake(key: string): void {
    this.entries.get(key)?.wake();
  }

  /** Reads every watched key that starts with `prefix` now (every page of a list an action changed). */
  wakeAll(prefix: string): void {
    for (const [key, entry] of this.entries) if (key.startsWith(prefix)) entry.wake();
  }

  /** Keys being polled now: one per distinct view, however many streams watch it. */
  get polled(): number {
    return this.entries.size;
  }

  /** Stops every poll; listeners hear nothing more. */
  close(): void {
    for (const entry of this.entries.values()) {
      entry.stopped = true;
      if (entry.timer) clearTimeout(entry.timer);
      entry.listeners.clear();
    }
    this.entries.clear();
  }

  private poll<E extends LiveEventName>(key: string, entry: Entry, event: E, read: () => Promise<StreamEvents[E]>, intervalMs: number) {
    let waitMs = intervalMs;
    const tick = async () => {
      entry.timer = null;
      let next: LiveEvent;
      try {
        next = { event, data: JSON.stringify(await read()) };
      } catch (error) {
        const { body, unexpected } = errorResponse(error);
        if (unexpected) this.onUnexpected(error);
        next = { event: "problem", data: JSON.stringify(body) };
      }
      if (entry.stopped) return;
      const changed = entry.last?.event !== next.event || entry.last.data !== next.data;
      waitMs = changed ? intervalMs : Math.min(waitMs * 2, intervalMs * MAX_BACKOFF);
      // The next read is armed only after this one returned, so a slow store is never asked twice at once.
      entry.timer = setTimeout(() => void tick(), waitMs);
      if (!changed) return;
      entry.last = next;
      for (const listener of entry.listeners) listener(next);
    };
    entry.wake = () => {
      if (entry.timer === null || entry.stopped) return;
      clearTimeout(entry.timer);
      waitMs = intervalMs;
      void tick();
    };
    void tick();
  }
}
