/**
 * The worker registry on a real Redis: worker processes register what they
 * serve, renew it, vanish on their own once killed and at once once closed;
 * `status` warns about a run no live worker can advance.
 */
import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { flow, ValidationError, type WorkerInfo } from "@parkway/core";
import { workerRegistryKeys } from "@parkway/redis";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { dropNamespace, ParkwayClient, WorkflowWorker } from "../src/index.js";
import { REGISTRATION_LAPSES_AFTER } from "../src/worker.js";
import { eventually, REDIS_URL, startWorker, stopWorker, testSpace } from "./helpers.js";
import { waiter, workflows } from "./fixtures/workflows.mjs";

const VERSION = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;
const space = testSpace();
let redis: Redis;
let client: ParkwayClient;
const children: ChildProcess[] = [];
const inProcess: WorkflowWorker[] = [];

beforeAll(() => {
  redis = new Redis(REDIS_URL);
  client = new ParkwayClient({ connection: REDIS_URL, namespace: space.namespace });
});

afterEach(async () => {
  await Promise.all(children.splice(0).map((child) => stopWorker(child, "SIGKILL")));
  await Promise.all(inProcess.splice(0).map((worker) => worker.close()));
});

afterAll(async () => {
  await client.close();
  await space.cleanup(redis);
  await redis.quit();
});

const byPid = (workers: readonly WorkerInfo[], pid: number | undefined) => workers.find((w) => w.pid === pid);

describe("workers register themselves", () => {
  it("two worker processes are listed with what they serve; a killed one lapses, a closed one leaves at once", async () => {
    const [a, b] = await Promise.all([startWorker(space.namespace, space.ledger), startWorker(space.namespace, space.ledger)]);
    children.push(a, b);
    // Registered before start() resolves, which the "worker started" line follows.
    const listed = await client.workers();
    expect(listed.map((w) => w.pid).sort()).toEqual([a.pid, b.pid].sort());
    const first = byPid(listed, a.pid)!;
    expect(first).toMatchObject({
      host: hostname(),
      namespace: space.namespace,
      partitions: [0],
      concurrency: 10,
      stepConcurrency: 40,
      version: VERSION,
    });
    expect(first.id).toMatch(/^[0-9a-f]{12}$/);
    expect(new Set(listed.map((w) => w.id)).size).toBe(2);
    expect(first.workflows).toEqual(workflows.map((w) => ({ name: w.name, hash: w.hash })));
    expect(first.heartbeatAt).toBeGreaterThanOrEqual(first.startedAt);

    // The heartbeat renews the registration; the start time stays.
    const renewed = await eventually(async () => {
      const now = byPid(await client.workers(), a.pid);
      return now && now.heartbeatAt > first.heartbeatAt ? now : undefined;
    }, "a heartbeat");
    expect(renewed.startedAt).toBe(first.startedAt);

    // SIGKILL: nothing deregisters it, and the registration lapses on its own.
    await stopWorker(a, "SIGKILL");
    const keys = workerRegistryKeys(space.namespace);
    const ttlMs = await redis.pttl(keys.worker(first.id));
    // The worker runs with --sweep 300ms: a heartbeat every 4 sweeps, lapsing after REGISTRATION_LAPSES_AFTER of them.
    expect(ttlMs).toBeGreaterThan(0);
    expect(ttlMs).toBeLessThanOrEqual(REGISTRATION_LAPSES_AFTER * 1200);
    await eventually(async () => byPid(await client.workers(), a.pid) === undefined, "the killed worker to lapse", 20_000);
    expect(await redis.exists(keys.worker(first.id))).toBe(0);
    // The survivor's next heartbeat drops the lapsed entry from the index too.
    await eventually(async () => (await redis.zscore(keys.workers, first.id)) === null, "the lapsed entry to be dropped");
    expect((await client.workers()).map((w) => w.pid)).toEqual([b.pid]);

    // SIGTERM: close() deregisters before the process exits.
    await stopWorker(b, "SIGTERM");
    expect(await client.workers()).toEqual([]);
    expect(await redis.zcard(keys.workers)).toBe(0);
  });

  it("an in-process worker lists itself from start() to close(), with its own options", async () => {
    const worker = new WorkflowWorker({
      connection: REDIS_URL,
      namespace: space.namespace,
      workflows: [waiter],
      concurrency: 3,
      stepConcurrency: 5,
    });
    expect(await client.workers()).toEqual([]);
    await worker.start();
    const [listed] = await client.workers();
    expect(listed).toMatchObject({
      id: worker.id,
      pid: process.pid,
      concurrency: 3,
      stepConcurrency: 5,
      workflows: [{ name: "waiter", hash: waiter.hash }],
    });
    await worker.close();
    expect(await client.workers()).toEqual([]);
  });

  it("status warns while no live worker registers the run's workflow, and not once one does", async () => {
    await client.start(waiter, null, { id: "warned" });
    const alone = await client.status("warned");
    expect(alone.warnings).toEqual([{ code: "NO_WORKER", message: expect.stringContaining('no live worker registers workflow "waiter"') }]);

    const worker = new WorkflowWorker({ connection: REDIS_URL, namespace: space.namespace, workflows: [waiter], sweepInterval: "100ms" });
    inProcess.push(worker);
    await worker.start();
    await eventually(async () => (await client.status("warned")).status === "parked", "the run to park");
    expect((await client.status("warned")).warnings).toEqual([]);

    // A finished run needs no worker: no warning, whoever is alive.
    await client.signal("warned", "approved", { by: "ana" });
    expect(await client.result("warned", { timeout: "20s" })).toBe("approved by ana");
    await worker.close();
    expect((await client.status("warned")).warnings).toEqual([]);
  });

  it("status warns when live workers register the workflow but not the run's definition", async () => {
    await client.start(waiter, null, { id: "other-definition" });
    const changed = flow<null>("waiter")
      .waitForSignal<{ by: string }>("approval", "approved")
      .then("shout", (p) => p.by.toUpperCase())
      .build();
    const worker = new WorkflowWorker({ connection: REDIS_URL, namespace: space.namespace, workflows: [changed] });
    inProcess.push(worker);
    await worker.start();
    const view = await client.status("other-definition");
    expect(view.warnings).toEqual([
      {
        code: "NO_WORKER_FOR_DEFINITION",
        message: expect.stringContaining(`none the definition this run started with (${waiter.hash.slice(0, 12)})`),
      },
    ]);
  });

  it("a partitioned namespace keeps one registry, under {ns}: a worker lists every partition it serves", async () => {
    const namespace = `${space.namespace}-p`;
    const worker = new WorkflowWorker({ connection: REDIS_URL, namespace, partitions: 3, workflows: [waiter] });
    inProcess.push(worker);
    const partitioned = new ParkwayClient({ connection: REDIS_URL, namespace, partitions: 3 });
    try {
      await worker.start();
      expect(await partitioned.workers()).toMatchObject([{ id: worker.id, namespace, partitions: [0, 1, 2] }]);
      expect(await redis.zscore(`{${namespace}}:workers`, worker.id)).not.toBeNull();
    } finally {
      await worker.close();
      inProcess.splice(inProcess.indexOf(worker), 1);
      await partitioned.close();
      await dropNamespace(redis, namespace);
    }
  });

  it("a client on another namespace sees none of these workers", async () => {
    const worker = new WorkflowWorker({ connection: REDIS_URL, namespace: space.namespace, workflows: [waiter] });
    inProcess.push(worker);
    await worker.start();
    const other = new ParkwayClient({ connection: REDIS_URL, namespace: `${space.namespace}-other` });
    try {
      expect(await other.workers()).toEqual([]);
    } finally {
      await other.close();
      // Its wake-up queue wrote its meta key: nothing of the test stays behind.
      await dropNamespace(redis, `${space.namespace}-other`);
    }
  });

  it("a registration another program wrote in another shape is left out, not thrown", async () => {
    const keys = workerRegistryKeys(space.namespace);
    await redis.zadd(keys.workers, Date.now() + 60_000, "garbled");
    await redis.hset(keys.worker("garbled"), "info", "{not json", "startedAt", "1", "heartbeatAt", "1");
    try {
      expect(await client.workers()).toEqual([]);
    } finally {
      await redis.del(keys.worker("garbled"));
      await redis.zrem(keys.workers, "garbled");
    }
  });

  it("the worker's options are checked as before: an unknown one is a ValidationError naming it", () => {
    expect(() => new WorkflowWorker({ connection: REDIS_URL, workflows: [waiter], heartbeat: "1s" } as never)).toThrow(ValidationError);
    expect(() => new WorkflowWorker({ connection: REDIS_URL, workflows: [waiter], heartbeat: "1s" } as never)).toThrow(/heartbeat/);
  });
});
