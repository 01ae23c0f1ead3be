/**
 * A worker frozen (SIGSTOP: a long GC pause, a VM migration) past its lease
 * loses its runs to other workers. When it thaws, the timers it had set fire
 * at once — here, the backoff before a retry — and it must not start a task
 * of a run it no longer holds: it checks its lease before every attempt.
 */
import type { ChildProcess } from "node:child_process";
import { Redis } from "ioredis";
import { afterAll, expect, it } from "vitest";
import { ParkwayClient } from "../src/index.js";
import { backoff } from "./fixtures/zombie-workflows.mjs";
import { eventually, REDIS_URL, startWorker, stopWorker, testSpace } from "./helpers.js";

const ZOMBIE_WORKFLOWS = new URL("./fixtures/zombie-workflows.mjs", import.meta.url).pathname;
const space = testSpace();
const redis = new Redis(REDIS_URL);
const client = new ParkwayClient({ connection: REDIS_URL, namespace: space.namespace });
const workers: ChildProcess[] = [];

afterAll(async () => {
  for (const w of workers) w.kill("SIGCONT");
  await Promise.all(workers.map((w) => stopWorker(w, "SIGKILL")));
  await client.close();
  await space.cleanup(redis);
  await redis.quit();
});

it("a worker thawed after its lease expired starts no task of the run another worker took over", async () => {
  const frozen = await startWorker(space.namespace, space.ledger, ["--workflows", ZOMBIE_WORKFLOWS]);
  workers.push(frozen);
  await client.start(backoff, null, { id: "zombie" });
  await eventually(async () => ((await redis.llen(space.ledger)) === 1 ? true : undefined), "the first attempt");
  // Frozen in the 4s backoff before attempt 2.
  frozen.kill("SIGSTOP");

  const other = await startWorker(space.namespace, space.ledger, ["--workflows", ZOMBIE_WORKFLOWS]);
  workers.push(other);
  expect(await client.result("zombie", { timeout: "30s" })).toBe(other.pid);

  frozen.kill("SIGCONT");
  await new Promise((resolve) => setTimeout(resolve, 1500));
  // The attempt the frozen worker started counts: the other worker goes on with attempt 2.
  expect(await redis.lrange(space.ledger, 0, -1)).toEqual([`${frozen.pid}:1`, `${other.pid}:2`]);
  expect(frozen.exitCode).toBeNull();
});
