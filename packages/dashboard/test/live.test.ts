import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LiveHub, MAX_BACKOFF } from "../src/server/live.js";
import type { RunsPage } from "../src/shared/api.js";

const page = (n: number) => ({ runs: [], cursor: null, counts: { pending: n } }) as unknown as RunsPage;

describe("the live hub", () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it("reads an unchanging view less and less often, and at its interval again after a change or a wake", async () => {
    const hub = new LiveHub();
    let value = 1;
    const readAt: number[] = [];
    const read = () => {
      readAt.push(Date.now());
      return Promise.resolve(page(value));
    };
    const start = Date.now();
    const stop = hub.watch("runs?", "runs", read, 100, () => {});
    await vi.advanceTimersByTimeAsync(3_000);
    const gaps = readAt.map((t, i) => t - (i === 0 ? start : readAt[i - 1]!));
    expect(gaps.slice(0, 5)).toEqual([0, 100, 200, 400, 400]);
    expect(Math.max(...gaps)).toBe(100 * MAX_BACKOFF);

    value = 2;
    readAt.length = 0;
    await vi.advanceTimersByTimeAsync(400);
    const changedAt = readAt[0]!;
    await vi.advanceTimersByTimeAsync(100);
    expect(readAt[1]! - changedAt).toBe(100);

    await vi.advanceTimersByTimeAsync(1_000);
    readAt.length = 0;
    const wokenAt = Date.now();
    hub.wake("runs?");
    await vi.advanceTimersByTimeAsync(0);
    expect(readAt).toEqual([wokenAt]);
    stop();
    hub.close();
  });

  it("wakes every watched key of a prefix at once, and no other", async () => {
    const hub = new LiveHub();
    const reads: string[] = [];
    const watch = (key: string) =>
      hub.watch(
        key,
        "runs",
        () => (reads.push(key), Promise.resolve(page(1))),
        1_000,
        () => {},
      );
    const stops = ["runs?status=parked", "runs?status=failed", "schedules?"].map(watch);
    await vi.advanceTimersByTimeAsync(0);
    reads.length = 0;
    hub.wakeAll("runs?");
    await vi.advanceTimersByTimeAsync(0);
    expect(reads.sort()).toEqual(["runs?status=failed", "runs?status=parked"]);
    for (const stop of stops) stop();
    hub.close();
  });
});
