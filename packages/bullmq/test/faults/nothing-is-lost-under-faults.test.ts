/**
 * The fault suite: a redis-server of its own (AOF, fsync always), three real
 * worker processes, a mixed load of runs (a tenth of them cancelled while
 * running or parked), and faults injected while it runs (see chaos.ts),
 * SIGTERM among them. Once the faults stop and the load settles, the promises in
 * invariants.ts are checked against the store and the ledger, the counts are
 * printed, and any violation fails the test.
 *
 * `npm run test:faults` runs it; `npm test` does not. FAULT_RUNS and
 * FAULT_LOAD_SECONDS shrink it for a quick look.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RedisStore } from "@parkway/redis";
import { Redis } from "ioredis";
import { afterAll, expect, it } from "vitest";
import { ParkwayClient } from "../../src/index.js";
import { Chaos } from "./chaos.js";
import { WorkerFleet } from "./fleet.js";
import { checkInvariants } from "./invariants.js";
import { readLedger } from "./ledger.js";
import { LoadDriver, planRuns } from "./load.js";
import { RedisServer } from "./redis-server.js";

const RUNS = Number(process.env.FAULT_RUNS ?? 2400);
const LOAD_MS = Number(process.env.FAULT_LOAD_SECONDS ?? 150) * 1000;
const LEASE_MS = 2000;
const SETTLE_MS = 180_000;
const NAMESPACE = "faults";

const dir = mkdtempSync(join(tmpdir(), "parkway-faults-"));
let redis: RedisServer | undefined;
let fleet: WorkerFleet | undefined;
let client: ParkwayClient | undefined;
let failed = false;

// If this process is stopped early, take the servers and workers it started along.
process.once("exit", () => {
  fleet?.killNow();
  redis?.killNow();
});

afterAll(async () => {
  await client?.close().catch(() => undefined);
  await fleet?.stop();
  await redis?.stop();
  if (failed) console.log(`fault suite: logs, ledger and AOF kept in ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
});

it("nothing is lost under kill -9, SIGTERM, Redis restarts, dropped connections, lost jobs and zombie workers", async () => {
  redis = await RedisServer.start(dir);
  fleet = new WorkerFleet({ redisUrl: redis.url, namespace: NAMESPACE, dir, lease: `${LEASE_MS}ms`, concurrency: 40, shutdownGrace: "2s" });
  await fleet.start(3);
  client = new ParkwayClient({ connection: redis.url, namespace: NAMESPACE });
  // ioredis prints every failed reconnect of a connection nobody listens to: keep the output to the counts.
  client.store.redis.on("error", () => undefined);
  client.wakeQueue.queue.on("error", () => undefined);
  const driver = new LoadDriver(client, planRuns(RUNS));
  const faultSpan = LOAD_MS + 15_000;
  const chaos = new Chaos({
    redis,
    fleet,
    namespace: NAMESPACE,
    leaseMs: LEASE_MS,
    workerKillEveryMs: 7000,
    workerTermEveryMs: 11_000,
    redisRestartsAt: spread(faultSpan, 5, 0.12),
    zombiesAt: spread(faultSpan, 3, 0.2),
    connectionKillEveryMs: 3000,
    jobTamperEveryMs: 2000,
  });

  const began = Date.now();
  chaos.start();
  await driver.drive(LOAD_MS);
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, began + faultSpan - Date.now())));
  await chaos.stop();
  await fleet.heal();
  const faultsOver = Date.now();

  const admin = new Redis(redis.url);
  const store = new RedisStore({ connection: admin, namespace: NAMESPACE, onWarning: () => {} });
  const unsettled = await settle(
    admin,
    store,
    driver.runs.map((r) => r.id),
  );
  const missingResults = await driver.awaitResults(unsettled.length === 0 ? 20_000 : 1000);
  const ledger = readLedger(dir);
  const report = await checkInvariants({
    store,
    runs: driver.runs,
    signals: driver.signals,
    results: driver.results,
    ledger,
    cancelsAcked: driver.cancelsAcked,
  });
  await store.close();
  admin.disconnect();

  for (const exit of fleet.unexpectedExits) {
    report.violations.push(`worker ${exit.pid} exited on its own (code ${exit.code}, signal ${exit.signal}):\n${exit.logTail}`);
  }
  for (const pid of fleet.stuckOnSigterm) report.violations.push(`worker ${pid} did not exit within a minute of SIGTERM`);
  if (missingResults.length > 0) report.counts.resultCallsPending = missingResults.length;
  const summary = {
    runs: driver.runs.length,
    started: driver.counts.started,
    cancels: driver.counts.cancels,
    loadSeconds: Math.round((faultsOver - began) / 1000),
    settleSeconds: Math.round((Date.now() - faultsOver) / 1000),
    workerKills: chaos.counts.workerKills,
    workerTerms: chaos.counts.workerTerms,
    workerStarts: fleet.counts.started,
    redisRestarts: chaos.counts.redisRestarts,
    connectionKills: chaos.counts.connectionKills,
    clientsDropped: chaos.counts.clientsDropped,
    jobsDeleted: chaos.counts.jobsDeleted,
    jobsDuplicated: chaos.counts.jobsDuplicated,
    zombies: chaos.counts.zombies,
    faultErrors: chaos.counts.faultErrors,
    clientRetries: driver.counts.transientRetries,
    ledgerFiles: ledger.files,
    ledgerTornLines: ledger.torn,
    ...report.counts,
    violations: report.violations.length,
  };
  console.log(`fault suite counts:\n${JSON.stringify(summary, null, 2)}`);
  if (report.violations.length > 0) {
    failed = true;
    console.log(`fault suite violations (first 40 of ${report.violations.length}):\n${report.violations.slice(0, 40).join("\n")}`);
  }
  expect(report.violations).toEqual([]);
  expect(driver.counts.started).toBe(driver.runs.length);
  expect(chaos.counts.redisRestarts).toBeGreaterThan(0);
  expect(chaos.counts.workerKills).toBeGreaterThan(0);
  expect(chaos.counts.workerTerms).toBeGreaterThan(0);
  expect(chaos.counts.zombies).toBeGreaterThan(0);
});

/** `n` moments spread over `span`, the first at `start` of it. */
function spread(span: number, n: number, start: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.round(span * (start + ((1 - start) * i) / n)));
}

/** Waits until every run is finished or SETTLE_MS passed; returns the ids still unfinished. */
async function settle(admin: Redis, store: RedisStore, ids: readonly string[]): Promise<string[]> {
  const deadline = Date.now() + SETTLE_MS;
  let open = [...ids];
  let polls = 0;
  while (open.length > 0 && Date.now() < deadline) {
    const pipeline = admin.pipeline();
    for (const id of open) pipeline.hget(store.keys.header(id), "status");
    const replies = (await pipeline.exec()) ?? [];
    const statuses = open.map((_, i) => String(replies[i]?.[1]));
    open = open.filter((_, i) => !["completed", "failed", "cancelled"].includes(statuses[i]!));
    if (open.length === 0) break;
    if (++polls % 10 === 0) console.log(`fault suite: ${open.length} runs still open, e.g. ${open.slice(0, 5).join(", ")}`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  return open;
}
