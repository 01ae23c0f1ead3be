/**
 * A schedule on three worker processes, one of them SIGKILLed half way: every tick starts
 * exactly one run, none is lost, none doubled, whichever worker held it.
 */
import type { ChildProcess } from "node:child_process";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ParkwayClient } from "../src/index.js";
import { eventually, REDIS_URL, startWorker, stopWorker, testSpace } from "./helpers.js";
import { ticked } from "./fixtures/workflows.mjs";

const space = testSpace();
let redis: Redis;
let client: ParkwayClient;
const workers: ChildProcess[] = [];

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  client = new ParkwayClient({ connection: REDIS_URL, namespace: space.namespace });
});

afterAll(async () => {
  await Promise.all(workers.splice(0).map((w) => stopWorker(w, "SIGKILL")));
  await client.close();
  await space.cleanup(redis);
  await redis.quit();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("schedules on worker processes", () => {
  it("a schedule ticking every second on three workers, one SIGKILLed half way: one run per tick, none lost", async () => {
    for (let i = 0; i < 3; i++) workers.push(await startWorker(space.namespace, space.ledger));
    const created = await client.schedules.create("every", ticked, {
      cron: "* * * * * *",
      input: "tick",
      overlap: "allow",
      catchup: "latest",
    });
    const first = created.nextTickAt!;
    await sleep(5_000);
    await stopWorker(workers[0]!, "SIGKILL");
    await sleep(5_000);
    await client.schedules.pause("every");
    // A tick marked before the pause still starts (after its mark's lease if the dead worker held it).
    const settled = await eventually(async () => {
      const s = await client.store.getSchedule("every");
      return s?.state.firing === null ? s : undefined;
    }, "the last tick to settle");
    const last = settled.state.nextAt! - 1000;
    const ticks = Array.from({ length: (last - first) / 1000 + 1 }, (_, i) => `every@${new Date(first + i * 1000).toISOString()}`);
    expect(ticks.length).toBeGreaterThanOrEqual(8);
    const runs = (await client.list({ idPrefix: "every@", order: "oldest", limit: 1000 })).runs.map((r) => r.id);
    expect(runs).toEqual(ticks);
    const results = await Promise.all(runs.map((id) => client.result(id, { timeout: "30s" })));
    expect(results.every((r) => r === "tick")).toBe(true);
  });
});
