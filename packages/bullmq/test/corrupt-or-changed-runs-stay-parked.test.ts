/**
 * Runs a worker process cannot advance — started with a definition it does
 * not have, or whose stored bytes were corrupted — are kept, parked with a
 * typed error naming them, and never hold up other runs. Real worker
 * processes on a real Redis.
 */
import type { ChildProcess } from "node:child_process";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ParkwayClient } from "../src/index.js";
import { parked } from "./fixtures/bad-input-workflows.mjs";
import { versioned as v1 } from "./fixtures/versioned-v1.mjs";
import { versioned as v2 } from "./fixtures/versioned-v2.mjs";
import { eventually, REDIS_URL, startWorker, stopWorker, testSpace } from "./helpers.js";

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;
const space = testSpace();
let redis: Redis;
let client: ParkwayClient;
const workers: ChildProcess[] = [];

const worker = async (module: string) => {
  const child = await startWorker(space.namespace, space.ledger, ["--workflows", fixture(module), "--blocked-retry", "300ms"]);
  workers.push(child);
  return child;
};

beforeAll(() => {
  redis = new Redis(REDIS_URL);
  client = new ParkwayClient({ connection: REDIS_URL, namespace: space.namespace });
});

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => stopWorker(w, "SIGKILL")));
});

afterAll(async () => {
  await client.close();
  await space.cleanup(redis);
  await redis.quit();
});

const statusOf = (id: string, status: string) =>
  eventually(async () => {
    const view = await client.status(id);
    return view.status === status ? view : undefined;
  }, `run "${id}" to be ${status}`);

describe("a changed definition", () => {
  it("leaves the run parked with DefinitionMismatchError, and it finishes once the old definition is registered again", async () => {
    const first = await worker("versioned-v1.mjs");
    await client.start(v1, "order", { id: "changed" });
    await statusOf("changed", "parked");
    await stopWorker(first, "SIGTERM");

    // Only the new definition is deployed; the run is woken and cannot go on.
    const second = await worker("versioned-v2.mjs");
    await client.signal("changed", "approved", "ana");
    const blocked = await eventually(async () => {
      const view = await client.status("changed");
      return view.error?.code === "DEFINITION_MISMATCH" ? view : undefined;
    }, "the run to be blocked");
    expect(blocked.status).toBe("parked");
    expect(blocked.error).toMatchObject({ context: { instanceId: "changed", workflow: "versioned", hash: v1.hash } });
    expect(blocked.steps.map((s) => s.key)).toEqual(["prepare"]);
    // A new run of the new definition is not held up.
    await client.start(v2, "new", { id: "fresh" });
    await client.signal("fresh", "approved", "bo");
    expect(await client.result("fresh", { timeout: "20s" })).toBe("v2 approved by bo");
    // It stays blocked (retried every 300ms) for as long as no worker has its definition.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await client.status("changed")).toMatchObject({ status: "parked", error: { code: "DEFINITION_MISMATCH" } });

    // The old definition is deployed again, beside the new one.
    await stopWorker(second, "SIGTERM");
    await worker("versioned-both.mjs");
    expect(await client.result("changed", { timeout: "20s" })).toBe("v1 approved by ana");
    const done = await client.status("changed");
    expect(done.steps.map((s) => s.key)).toEqual(["prepare", "approval", "done"]);
    expect(done.error).toBeNull();
  });

  it("a run of a workflow no worker registers stays parked with UnknownWorkflowError, and finishes once one does", async () => {
    const first = await worker("bad-input-workflows.mjs");
    await client.start(v1, "order", { id: "orphan" });
    const blocked = await eventually(async () => {
      const view = await client.status("orphan");
      return view.error?.code === "UNKNOWN_WORKFLOW" ? view : undefined;
    }, "the run to be blocked");
    expect(blocked).toMatchObject({ status: "parked", steps: [], error: { context: { instanceId: "orphan", workflow: "versioned" } } });
    await stopWorker(first, "SIGTERM");
    await worker("versioned-v1.mjs");
    await eventually(async () => ((await client.status("orphan")).steps.length === 1 ? true : undefined), "its first step");
    await client.signal("orphan", "approved", "cy");
    expect(await client.result("orphan", { timeout: "20s" })).toBe("v1 approved by cy");
  });
});

describe("corrupted bytes in Redis", () => {
  it("garbage in a committed output or the input parks that run with CodecError naming it; other runs finish", async () => {
    await worker("bad-input-workflows.mjs");
    for (const id of ["bad-output", "bad-input", "healthy"]) await client.start(parked, 3, { id });
    for (const id of ["bad-output", "bad-input", "healthy"]) await statusOf(id, "parked");
    // Text where msgpack is expected: the first byte reads as a number, and the rest cannot be.
    await redis.hset(client.store.keys.outputs("bad-output"), "a", "garbage, not msgpack");
    // The input lives in the outputs hash, under a name no commit key has.
    await redis.hset(client.store.keys.outputs("bad-input"), "#input", "garbage, not msgpack");
    for (const id of ["bad-output", "bad-input", "healthy"]) await client.signal(id, "go", id);

    expect(await client.result("healthy", { timeout: "20s" })).toEqual({ echoed: "healthy" });
    for (const [id, what] of [
      ["bad-output", /output of step "a" of run "bad-output" is corrupted/],
      ["bad-input", /input of run "bad-input" is corrupted/],
    ] as const) {
      const header = await eventually(async () => {
        const run = await client.store.get(id, { outputs: false });
        return run?.header.error?.code === "CODEC" ? run.header : undefined;
      }, `run "${id}" to be blocked`);
      expect(header.status).toBe("parked");
      expect(header.error).toMatchObject({ context: { instanceId: id } });
      expect(header.error?.message).toMatch(what);
      // Reading it through the client names the run too; its buffered signal is still there.
      await expect(client.status(id)).rejects.toMatchObject({ code: "CODEC", context: { instanceId: id } });
      expect(await redis.llen(client.store.keys.signals(id, "go"))).toBe(1);
    }
  });

  it("a corrupted run header gives CodecError naming the run; workers go on with the other runs", async () => {
    await worker("bad-input-workflows.mjs");
    await client.start(parked, 4, { id: "bad-header" });
    await statusOf("bad-header", "parked");
    await redis.hset(client.store.keys.header("bad-header"), "waits", "][ not json", "dueAt", "0");
    await redis.zadd(client.store.keys.due, 0, "bad-header");

    await expect(client.status("bad-header")).rejects.toMatchObject({
      code: "CODEC",
      context: { instanceId: "bad-header", field: "waits" },
    });
    await expect(client.signal("bad-header", "go", 1)).rejects.toMatchObject({ code: "CODEC", context: { instanceId: "bad-header" } });
    await client.start(parked, 5, { id: "next-door" });
    await statusOf("next-door", "parked");
    await client.signal("next-door", "go", "fine");
    expect(await client.result("next-door", { timeout: "20s" })).toEqual({ echoed: "fine" });
    expect(workers.every((w) => w.exitCode === null)).toBe(true);
  });
});
