/**
 * The run lifecycle with several workers: a rewind while a worker holds the
 * run fences that worker (its late commit is refused), and retention with
 * short periods under load frees every finished run's keys and index entries
 * while no live run loses a key.
 */
import { flow, type Workflow } from "@parkway/core";
import { namespaceKeys } from "@parkway/redis";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { ParkwayClient, WorkflowWorker } from "../src/index.js";
import { eventually, REDIS_URL, testSpace } from "./helpers.js";

const space = testSpace();
let redis: Redis;
const workers: WorkflowWorker[] = [];
const clients: ParkwayClient[] = [];

beforeAll(() => {
  redis = new Redis(REDIS_URL);
});

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.close()));
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

afterAll(async () => {
  await space.cleanup(redis);
  await redis.quit();
});

async function worker(workflows: readonly Workflow<never, unknown>[]): Promise<WorkflowWorker> {
  const w = new WorkflowWorker({ connection: REDIS_URL, namespace: space.namespace, workflows, sweepInterval: 200, sweepGrace: 100 });
  workers.push(w);
  await w.start();
  return w;
}

function client(workflows: readonly Workflow<never, unknown>[]): ParkwayClient {
  const c = new ParkwayClient({ connection: REDIS_URL, namespace: space.namespace, workflows });
  clients.push(c);
  return c;
}

/** Every key of the namespace that is a run's own (header, outputs with input and result, signals, delivery ids, wake-up ids). */
async function runKeys(): Promise<string[]> {
  const own = /:(run|out|delivered|signames|sig|wakes):/;
  const keys: string[] = [];
  for await (const batch of namespaceKeys(redis, space.namespace)) keys.push(...batch.filter((k) => own.test(k)));
  return keys;
}

it("a rewind while a worker holds the run fences it: its late commit is refused and the run goes on from the rewound step", async () => {
  const calls = { first: 0, held: 0 };
  let releaseFirstHold!: () => void;
  const hold = new Promise<void>((resolve) => (releaseFirstHold = resolve));
  const wf = flow<number>("rewind-held")
    .then("first", (n) => (calls.first++, n))
    .then("held", async () => {
      const mine = ++calls.held;
      if (mine === 1) await hold;
      return mine;
    })
    .then("last", (n) => n * 10)
    .build();
  await worker([wf]);
  await worker([wf]);
  const c = client([wf]);
  await c.start(wf, 1, { id: "rw-held" });
  await eventually(async () => calls.held === 1, "the first worker to hold the run in step held");
  const before = await c.status("rw-held");
  await expect(c.retry("rw-held")).rejects.toMatchObject({ code: "RUN_STATE", context: { status: "running" } });
  expect((await c.status("rw-held")).version).toBe(before.version);
  const rewound = await c.rewind("rw-held", { to: "first" });
  expect(rewound.version).toBeGreaterThan(before.version);
  // The run goes on elsewhere while the first holder still runs its task.
  expect(await c.result("rw-held", { timeout: "10s" })).toBe(20);
  releaseFirstHold();
  await new Promise((resolve) => setTimeout(resolve, 200));
  const view = await c.status("rw-held");
  expect(view.steps.map((s) => [s.key, s.output])).toEqual([
    ["first", 1],
    ["held", 2],
    ["last", 20],
  ]);
  expect(calls).toEqual({ first: 2, held: 2 });
});

it("retention with short periods under load: every finished run's keys and index entries go, no live run loses a key", async () => {
  const quick = flow<number>("ret-quick", { retention: { completed: 400 } })
    .then("a", (n) => n + 1)
    .then("b", (n) => n * 2)
    .build();
  const slow = flow<number>("ret-slow", { retention: { completed: 400 } })
    .then("a", (n) => n + 1)
    .delay("nap", 1500)
    .then("b", (n) => n * 2)
    .build();
  const waiting = flow<number>("ret-waiting", { retention: { completed: 400 } })
    .waitForSignal<number>("w", "go", { timeout: "1h" })
    .then("b", (n) => n * 2)
    .build();
  const all = [quick, slow, waiting];
  await worker(all);
  await worker(all);
  const c = client(all);
  const ids = { quick: [] as string[], slow: [] as string[], waiting: [] as string[] };
  for (let i = 0; i < 300; i++) ids.quick.push((await c.start(quick, i, { id: `q${i}` })).id);
  for (let i = 0; i < 20; i++) ids.slow.push((await c.start(slow, i, { id: `s${i}` })).id);
  for (let i = 0; i < 20; i++) ids.waiting.push((await c.start(waiting, i, { id: `w${i}` })).id);

  // The quick runs finish and go; the others stay whole meanwhile.
  const quickGone = async () => {
    const counts = await c.counts({ workflow: "ret-quick" });
    const keys = await runKeys();
    return Object.values(counts).every((n) => n === 0) && keys.every((k) => !/:q\d+$/.test(k));
  };
  await eventually(quickGone, "every quick run to finish and go", 60_000);
  for (const id of ids.waiting) {
    const view = await c.status(id);
    expect(view.status).toBe("parked");
    for (const key of [`{${space.namespace}}:run:${id}`, `{${space.namespace}}:out:${id}`]) expect(await redis.pttl(key)).toBe(-1);
  }
  for (const id of ids.waiting) await c.signal(id, "go", 1);
  for (const id of [...ids.waiting, ...ids.slow]) await c.result(id, { timeout: "30s" });

  await eventually(async () => (await runKeys()).every((k) => !/:[qsw]\d+$/.test(k)), "every finished run's keys to go", 30_000);
  const indexed = async (workflow: string) => Object.values(await c.counts({ workflow })).reduce((a, b) => a + b, 0);
  await eventually(
    async () => (await indexed("ret-quick")) + (await indexed("ret-slow")) + (await indexed("ret-waiting")) === 0,
    "every index entry to go",
    30_000,
  );
  expect((await c.list()).runs.map((r) => r.id)).toEqual(["rw-held"]);
  // The signal waits' hour-long timeout jobs went with their runs.
  expect(await redis.zcard(`{${space.namespace}}:bull:wake:delayed`)).toBe(0);
  expect(await redis.zrange(`{${space.namespace}}:expiring`, 0, -1)).toEqual([JSON.stringify(["rw-held", "completed", "rewind-held"])]);
}, 120_000);
