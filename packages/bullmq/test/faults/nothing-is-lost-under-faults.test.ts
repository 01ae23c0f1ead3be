/**
 * The fault suite: a redis-server of its own (AOF, fsync always), three real
 * worker processes, a mixed load of runs of every feature (see load.ts), and
 * faults injected while it runs (see chaos.ts): kills at random and aimed at
 * map elements, compensations, parents that just started a child and holders
 * of concurrency slots; SIGTERM; Redis restarts; dropped connections; lost and
 * duplicated wake-up jobs; a frozen worker. Once the faults stop and the load
 * settles, the promises in invariants.ts are checked against the store and
 * the ledger, one line of counts is printed, and any violation fails the test.
 *
 * `npm run test:faults` runs it; `npm test` does not. FAULT_RUNS and
 * FAULT_LOAD_SECONDS shrink it for a quick look.
 */
import { expect, it } from "vitest";
import { Chaos } from "./chaos.js";
import { WorkerFleet } from "./fleet.js";
import { RedisServer } from "./redis-server.js";
import { runFolder } from "./run-folder.js";
import { runFaultScenario } from "./scenario.js";

const RUNS = Number(process.env.FAULT_RUNS ?? 2400);
const LOAD_MS = Number(process.env.FAULT_LOAD_SECONDS ?? 150) * 1000;
const FAULT_TAIL_MS = 15_000;
const LEASE_MS = 2000;
const NAMESPACE = "faults";

const folder = runFolder("faults");
const { dir } = folder;

it("nothing is lost under kill -9, SIGTERM, Redis restarts, dropped connections, lost jobs and zombie workers", async () => {
  const redis = await RedisServer.start(dir);
  folder.track(redis);
  const fleet = new WorkerFleet({
    redisUrl: redis.url,
    namespace: NAMESPACE,
    dir,
    lease: `${LEASE_MS}ms`,
    concurrency: 40,
    shutdownGrace: "2s",
  });
  folder.track(fleet);
  await fleet.start(3);
  const faultSpan = LOAD_MS + FAULT_TAIL_MS;
  const chaos = new Chaos({
    redis,
    fleet,
    namespace: NAMESPACE,
    leaseMs: LEASE_MS,
    workerKillEveryMs: 10_000,
    workerTermEveryMs: 11_000,
    redisRestartsAt: spread(faultSpan, 5, 0.12),
    zombiesAt: spread(faultSpan, 3, 0.2),
    connectionKillEveryMs: 3000,
    jobTamperEveryMs: 2000,
    huntEveryMs: 6000,
    ledgerDir: dir,
  });
  const { summary, violations } = await runFaultScenario({
    connection: redis.url,
    namespace: NAMESPACE,
    fleet,
    dir,
    runs: RUNS,
    loadMs: LOAD_MS,
    faultTailMs: FAULT_TAIL_MS,
    settleMs: 180_000,
    faults: chaos,
  });
  folder.report("fault suite", summary, violations);
  expect(violations).toEqual([]);
  expect(summary.started).toBe(summary.runs);
  // Every fault happened, the aimed kills too.
  const happened = Object.fromEntries(FAULTS.map((fault) => [fault, (summary[fault] ?? 0) > 0]));
  expect(happened).toEqual(Object.fromEntries(FAULTS.map((fault) => [fault, true])));
});

const FAULTS = [
  "redisRestarts",
  "workerKills",
  "workerTerms",
  "zombies",
  "killedInMap",
  "killedInCompensation",
  "killedAfterStartingChild",
  "killedHoldingSlot",
];

/** `n` moments spread over `span`, the first at `start` of it. */
function spread(span: number, n: number, start: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.round(span * (start + ((1 - start) * i) / n)));
}
