/**
 * A saga across worker processes on a real Redis: the worker undoing its first step is killed
 * with SIGKILL, and another finishes the compensation. A ledger outside Redis (a file per
 * process, written synchronously, see fixtures/fleet-workflows.mjs) shows what ran where.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ChildProcess } from "node:child_process";
import { isParkwayError } from "@parkway/core";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ParkwayClient } from "../src/index.js";
import { byStep, readExecutions } from "./fleet-ledger.js";
import { eventually, REDIS_URL, startWorker, stopWorker, testSpace } from "./helpers.js";
import { saga } from "./fixtures/fleet-workflows.mjs";

const FIXTURES = fileURLToPath(new URL("./fixtures/fleet-workflows.mjs", import.meta.url));

const space = testSpace();
const ledgerDir = mkdtempSync(join(tmpdir(), "parkway-saga-"));
let redis: Redis;
let client: ParkwayClient;
const workers: ChildProcess[] = [];

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  client = new ParkwayClient({ connection: REDIS_URL, namespace: space.namespace });
  for (let i = 0; i < 3; i++) {
    workers.push(
      await startWorker(space.namespace, space.ledger, ["--workflows", FIXTURES], REDIS_URL, { PARKWAY_FLEET_LEDGER: ledgerDir }),
    );
  }
});

afterAll(async () => {
  await Promise.all(workers.splice(0).map((w) => stopWorker(w, "SIGKILL")));
  await client.close();
  await space.cleanup(redis);
  await redis.quit();
  rmSync(ledgerDir, { recursive: true, force: true });
});

describe("compensation across worker processes", () => {
  it("a saga failing at its third step, its worker SIGKILLed while undoing the first: each undone once, in reverse order, failed with its own error", async () => {
    const id = "saga-killed";
    await client.start(saga, 1, { id });
    const ofStep = (step: string) => readExecutions(ledgerDir).filter((e) => e.run === id && e.step === step);
    // The compensations run last committed first: "two", then the slow "one", killed in flight.
    const doomedPid = await eventually(async () => ofStep("one#compensate")[0]?.pid, "the first step's compensation started");
    const killedAt = Date.now();
    await stopWorker(
      workers.find((w) => w.pid === doomedPid)!,
      "SIGKILL",
    );

    const error = await client.result(id, { timeout: "30s" }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isParkwayError(error, "RUN_FAILED")).toBe(true);
    expect((error as Error & { cause: Error }).cause.message).toBe("no truck");
    const view = await client.status(id);
    expect(view.status).toBe("failed");
    expect(view.error).toMatchObject({ message: "no truck", step: "three" });
    expect(view.error?.compensations).toBeUndefined();
    // Each compensation committed once, in reverse commit order of the steps they undo.
    expect(await client.store.commitOrder(id)).toEqual(["one", "two", "#failed", "two#compensate", "one#compensate"]);
    const outputs = new Map(view.steps.map((s) => [s.key, s.output]));
    expect(outputs.get("one#compensate")).toEqual({ compensated: true });
    expect(outputs.get("two#compensate")).toEqual({ compensated: true });

    const steps = byStep(readExecutions(ledgerDir).filter((e) => e.run === id));
    const where = (step: string) =>
      (steps.get(`${id}|${step}`) ?? []).map((e) => ({
        killed: e.pid === doomedPid,
        ended: e.endedAt !== null,
        afterKill: e.startedAt >= killedAt,
      }));
    // Steps and the second compensation ran once each; the first compensation ran again, after
    // the kill, only because its first execution died with its worker.
    expect(where("one")).toEqual([{ killed: expect.any(Boolean), ended: true, afterKill: false }]);
    expect(where("two")).toEqual([{ killed: expect.any(Boolean), ended: true, afterKill: false }]);
    expect(where("two#compensate")).toEqual([{ killed: expect.any(Boolean), ended: true, afterKill: false }]);
    expect(where("one#compensate")).toEqual([
      { killed: true, ended: false, afterKill: false },
      { killed: false, ended: true, afterKill: true },
    ]);
  }, 60_000);
});
