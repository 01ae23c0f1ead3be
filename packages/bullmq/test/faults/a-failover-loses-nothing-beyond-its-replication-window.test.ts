/**
 * The fault suite's load on a Redis Cluster while its masters fail over: a
 * local Cluster of three masters with a replica each (AOF, fsync always),
 * three worker processes and the client on a namespace of six partitions
 * spread over every master, and each master in turn killed with SIGKILL
 * while the load runs, its replica promoted, the old master rejoined as a
 * replica (see failovers.ts). One failover in two comes after the replica
 * lagged, so it loses what the master acknowledged meanwhile.
 *
 * Once the load settles, every promise of invariants.ts is checked as in the
 * suite on one Redis, and what the failovers lost is measured against what
 * the load saw acknowledged (losses.ts): a loss must lie within the
 * replication window before its kill, and explains the violations of its own
 * run (a run whose acknowledged signal was lost waits for it for ever); any
 * other violation fails the test. One line of counts is printed.
 *
 * `npm run test:faults` runs it; FAULT_CLUSTER_RUNS and
 * FAULT_CLUSTER_LOAD_SECONDS shrink it for a quick look, and FAULT_KEEP_LOGS
 * keeps the workers' logs and the ledger when it passes too (run-folder.ts).
 */
import { randomBytes } from "node:crypto";
import { expect, it } from "vitest";
import { LocalCluster } from "../../../redis/test/cluster.js";
import { ClusterFailovers } from "./failovers.js";
import { WorkerFleet } from "./fleet.js";
import { runFolder } from "./run-folder.js";
import { runFaultScenario } from "./scenario.js";

const RUNS = Number(process.env.FAULT_CLUSTER_RUNS ?? 600);
const LOAD_MS = Number(process.env.FAULT_CLUSTER_LOAD_SECONDS ?? 45) * 1000;
const FAULT_TAIL_MS = 8000;
const LEASE_MS = 2000;
const PARTITIONS = 6;
/** Each failover in turn: how long its replica lags before the kill. */
const REPLICA_LAG_MS = [0, 1000];
/** Besides the lag, how long before a kill a lost write may have been acknowledged. */
const WINDOW_SLACK_MS = 250;

const folder = runFolder("faults-cluster");
const { dir } = folder;

it("a Cluster failover loses nothing beyond its replication window, strands no run and commits no step twice", async () => {
  const began = Date.now();
  const cluster = await LocalCluster.start({ replicas: 1, appendOnly: true, nodeTimeoutMs: 2000 });
  folder.track(cluster);
  // A namespace whose six partitions' slots are served by all three masters.
  const mastersOf = (ns: string) => Promise.all(Array.from({ length: PARTITIONS }, (_, p) => cluster.masterOf(`{${ns}:${p}}`)));
  let namespace: string;
  do namespace = `faults-${randomBytes(3).toString("hex")}`;
  while (new Set(await mastersOf(namespace)).size < 3);
  expect(new Set(await mastersOf(namespace)).size).toBe(3);

  const fleet = new WorkerFleet({
    redisUrl: cluster.urls,
    namespace,
    partitions: PARTITIONS,
    dir,
    lease: `${LEASE_MS}ms`,
    concurrency: 30,
    shutdownGrace: "2s",
  });
  folder.track(fleet);
  await fleet.start(3);
  const faultSpan = LOAD_MS + FAULT_TAIL_MS;
  const masters = (await cluster.masters()).length;
  const faults = new ClusterFailovers({
    cluster,
    namespace,
    partitions: PARTITIONS,
    at: Array.from({ length: masters }, (_, i) => Math.round((faultSpan * (i + 0.5)) / (masters + 0.5))),
    replicaLagMs: REPLICA_LAG_MS,
    windowSlackMs: WINDOW_SLACK_MS,
  });
  const { summary, violations } = await runFaultScenario({
    connection: cluster.urls,
    namespace,
    partitions: PARTITIONS,
    fleet,
    dir,
    runs: RUNS,
    loadMs: LOAD_MS,
    faultTailMs: FAULT_TAIL_MS,
    // A run waiting for a signal a failover lost never settles: do not wait a minute for it.
    settleMs: 15_000,
    faults,
  });
  folder.report("fault suite (Cluster failover)", { ...summary, testSeconds: Math.round((Date.now() - began) / 1000) }, violations);
  expect(violations).toEqual([]);
  expect(summary.started).toBe(summary.runs);
  // Every master failed over once, and the workers went on after each.
  expect(summary.failovers).toBe(masters);
});
