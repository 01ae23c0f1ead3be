/**
 * What a client shows of the workers: the embedded engine lists itself as its
 * one in-process worker, and `status` warns about a run no live worker can
 * advance (`runWarnings`, the one place that decides it).
 */
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { describe, expect, it } from "vitest";
import { createMemoryEngine, DurableClient, flow, runWarnings, ValidationError, type WorkerInfo } from "../src/index.js";
import { MemoryStore } from "../src/store/memory.js";

const VERSION = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;
const waiter = flow<null>("waiter")
  .waitForSignal<string>("w", "go")
  .then("echo", (s: string) => s)
  .build();
const other = flow<null>("other").waitForSignal<string>("w", "go").build();

describe("the embedded engine's workers", () => {
  it("lists itself: one in-process worker with its workflows, concurrency and Parkway version", async () => {
    const engine = createMemoryEngine({ workflows: [waiter, waiter], concurrency: 7 });
    try {
      const [self, ...rest] = await engine.workers();
      expect(rest).toEqual([]);
      expect(self).toMatchObject({
        host: hostname(),
        pid: process.pid,
        namespace: null,
        partitions: [0],
        workflows: [{ name: "waiter", hash: waiter.hash }],
        concurrency: 7,
        stepConcurrency: 7,
        version: VERSION,
      });
      expect(self!.heartbeatAt).toBeGreaterThanOrEqual(self!.startedAt);
      // The id is the engine's for its life.
      expect((await engine.workers())[0]!.id).toBe(self!.id);
    } finally {
      await engine.close();
    }
    expect(await engine.workers()).toEqual([]);
  });

  it("status warns about a run of a workflow the engine does not register, and not about one it does", async () => {
    const engine = createMemoryEngine({ workflows: [waiter] });
    try {
      await engine.start(waiter, null, { id: "known" });
      await engine.start(other, null, { id: "unknown" });
      await engine.idle();
      expect((await engine.status("known")).warnings).toEqual([]);
      expect((await engine.status("unknown")).warnings).toEqual([
        {
          code: "NO_WORKER",
          message: 'no live worker registers workflow "other" (1 live worker, none with it): nothing advances this run until one starts',
        },
      ]);
    } finally {
      await engine.close();
    }
  });

  it("a client without a view of workers shows no warnings, and workers() says why it cannot answer", async () => {
    const store = new MemoryStore();
    const bare = new DurableClient({ store, waker: { wake: async () => {} } });
    await bare.start(waiter, null, { id: "r" });
    expect((await bare.status("r")).warnings).toEqual([]);
    await expect(bare.workers()).rejects.toThrow(ValidationError);
  });
});

describe("runWarnings", () => {
  const worker = (workflows: WorkerInfo["workflows"]): WorkerInfo => ({
    id: "w1",
    host: "h",
    pid: 1,
    namespace: "ns",
    partitions: [0],
    workflows,
    concurrency: 1,
    stepConcurrency: 1,
    startedAt: 0,
    heartbeatAt: 0,
    version: "0.0.0",
  });
  const run = { workflow: "waiter", hash: waiter.hash, status: "parked" as const };

  it("is empty when a live worker registers the run's definition", () => {
    expect(runWarnings(run, [worker([{ name: "waiter", hash: waiter.hash }])])).toEqual([]);
  });

  it("says no worker is alive, or that the live ones lack the workflow", () => {
    expect(runWarnings(run, [])).toEqual([
      {
        code: "NO_WORKER",
        message: 'no live worker registers workflow "waiter" (no worker is alive): nothing advances this run until one starts',
      },
    ]);
    expect(runWarnings(run, [worker([]), worker([{ name: "x", hash: "h" }])])[0]?.message).toContain("(2 live workers, none with it)");
  });

  it("names the run's definition when the live workers register only other ones", () => {
    expect(runWarnings(run, [worker([{ name: "waiter", hash: "0".repeat(64) }])])).toEqual([
      {
        code: "NO_WORKER_FOR_DEFINITION",
        message: `live workers register workflow "waiter", but none the definition this run started with (${waiter.hash.slice(0, 12)}): it stays parked until a worker with that definition starts`,
      },
    ]);
  });

  it("is empty for a finished run, which needs no worker", () => {
    for (const status of ["completed", "failed", "cancelled"] as const) expect(runWarnings({ ...run, status }, [])).toEqual([]);
  });
});
