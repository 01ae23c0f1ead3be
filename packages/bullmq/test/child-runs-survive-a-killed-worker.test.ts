/**
 * Child runs across worker processes on a real Redis: the worker running a parent is SIGKILLed at
 * a fault point of its child step (fixtures/child-workflows.mjs stops it exactly there), and
 * another worker takes the parent over. Child runs are counted by listing the namespace; a ledger
 * outside Redis (fleet-ledger.ts) shows how often the child's task ran.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ChildProcess } from "node:child_process";
import type { Workflow } from "@parkway/core";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ParkwayClient } from "../src/index.js";
import { readExecutions } from "./fleet-ledger.js";
import { eventually, REDIS_URL, startWorker, stopWorker, testSpace } from "./helpers.js";
import { killedAfterRecording, killedAfterStarting } from "./fixtures/child-workflows.mjs";

const FIXTURES = fileURLToPath(new URL("./fixtures/child-workflows.mjs", import.meta.url));

const space = testSpace();
const ledgerDir = mkdtempSync(join(tmpdir(), "parkway-children-"));
const faultDir = mkdtempSync(join(tmpdir(), "parkway-child-faults-"));
let redis: Redis;
let client: ParkwayClient;
const workers: ChildProcess[] = [];

/** A worker process: at most one runs at a time here, so which one does what is known. */
async function startOne(): Promise<ChildProcess> {
  const worker = await startWorker(space.namespace, space.ledger, ["--workflows", FIXTURES], REDIS_URL, {
    PARKWAY_FLEET_LEDGER: ledgerDir,
    PARKWAY_CHILD_FAULTS: faultDir,
  });
  workers.push(worker);
  return worker;
}

beforeAll(() => {
  redis = new Redis(REDIS_URL);
  client = new ParkwayClient({ connection: REDIS_URL, namespace: space.namespace });
});

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => stopWorker(w)));
});

afterAll(async () => {
  await client.close();
  await space.cleanup(redis);
  await redis.quit();
  rmSync(ledgerDir, { recursive: true, force: true });
  rmSync(faultDir, { recursive: true, force: true });
});

/**
 * Starts `parent` on a worker of its own and SIGKILLs that worker once it stopped at the fault
 * point of child run `childId`. No worker is left running.
 */
async function killAtFaultPoint(parent: Workflow<number, unknown>, input: number, id: string, childId: string): Promise<void> {
  const doomed = await startOne();
  await client.start(parent, input, { id });
  const marker = join(faultDir, `${childId}.pid`);
  const pid = await eventually(async () => {
    // Complete once its line ends: the process writes it just after creating the file.
    const text = existsSync(marker) ? readFileSync(marker, "utf8") : "";
    return text.endsWith("\n") && Number(text);
  }, `a worker stopped at the fault point of child run "${childId}"`);
  expect(pid).toBe(doomed.pid);
  await stopWorker(doomed, "SIGKILL");
}

/** Every run of the namespace that is a child of run `parentId`, found by listing the namespace. */
async function childrenOf(parentId: string): Promise<string[]> {
  const { runs, cursor } = await client.list({ limit: 10_000 });
  expect(cursor).toBeNull();
  const views = await Promise.all(runs.map((r) => client.status(r.id)));
  return views.filter((v) => v.parent?.id === parentId).map((v) => v.id);
}

describe("a parent's worker killed in the middle of its child step", () => {
  it.each([
    { point: "after recording its child, before the child exists", parent: killedAfterRecording, tag: "recorded" },
    { point: "right after starting its child, before it parked", parent: killedAfterStarting, tag: "started" },
  ])(
    "$point: another worker resumes the parent, there is one child run, and the parent finishes with its output",
    async ({ parent, tag }) => {
      const id = `resumed-${tag}`;
      const childId = `ship-11-${tag}`;
      await killAtFaultPoint(parent, 10, id, childId);
      await startOne();

      await eventually(async () => (await client.status(childId).catch(() => null))?.status === "parked", "the child parked");
      await client.signal(childId, "picked-up", "ana");
      const output = await client.result(id, { timeout: "30s" });
      const child = await client.status(childId);
      expect(child.status).toBe("completed");
      expect(output).toEqual(child.output);
      expect(output).toMatchObject({ out: `${childId} picked up by ana` });
      expect(child.parent).toEqual({ id, key: tag });
      expect((await client.status(id)).children).toEqual([{ key: tag, id: childId }]);
      expect(await childrenOf(id)).toEqual([childId]);
      // The child was started once: its first task ran once, in one process.
      expect(readExecutions(ledgerDir).filter((e) => e.run === childId && e.step === "book")).toHaveLength(1);
    },
    60_000,
  );

  it("right after starting its child, the parent cancelled before another worker took it over: the child is cancelled too", async () => {
    const id = "cancelled-started";
    const childId = "ship-21-started";
    await killAtFaultPoint(killedAfterStarting, 20, id, childId);
    // No worker has taken the parent over: the cancel waits for the next one's acquire.
    expect((await client.cancel(id)).immediate).toBe(false);
    await startOne();

    await eventually(async () => (await client.status(id)).status === "cancelled", "the parent cancelled");
    await eventually(async () => (await client.status(childId)).status === "cancelled", "the child cancelled");
    expect(await childrenOf(id)).toEqual([childId]);
  }, 60_000);
});
