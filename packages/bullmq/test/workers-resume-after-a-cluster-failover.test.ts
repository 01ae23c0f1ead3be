/**
 * A worker on a Redis Cluster goes on after a master fails over: each master
 * in turn is killed, its replica promoted and the old master rejoined as a
 * replica, and after each failover the runs of every partition (six, over
 * all three masters) are taken and finished by the same worker, without a
 * restart. One failover drops every client connection while the cluster
 * fails (the master down, its replica held back): each of the worker's
 * Cluster connections connects again while the cluster's ready check fails,
 * and must still settle once the cluster is ready
 * (a-cluster-connection-settles-once-the-cluster-is-ready.test.ts).
 */
import { flow } from "@parkway/core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { LocalCluster, type FailoverOptions } from "../../redis/test/cluster.js";
import { ParkwayClient, WorkflowWorker } from "../src/index.js";
import { testSpace } from "./helpers.js";

const PARTITIONS = 6;
let cluster: LocalCluster;
let space: ReturnType<typeof testSpace>;
let client: ParkwayClient;
let worker: WorkflowWorker;
const errors: string[] = [];

const doubled = flow<number>("failover-doubled")
  .then("double", (n) => n * 2)
  .then("inc", (n) => n + 1)
  .build();

beforeAll(async () => {
  cluster = await LocalCluster.start({ replicas: 1 });
  // A namespace whose six partitions reach all three masters.
  const mastersOf = (ns: string) => Promise.all(Array.from({ length: PARTITIONS }, (_, p) => cluster.masterOf(`{${ns}:${p}}`)));
  do space = testSpace();
  while (new Set(await mastersOf(space.namespace)).size < 3);
  const options = { connection: cluster.urls, namespace: space.namespace, partitions: PARTITIONS };
  client = new ParkwayClient({ ...options, workflows: [doubled] });
  worker = new WorkflowWorker({
    ...options,
    workflows: [doubled],
    lease: "2s",
    sweepInterval: "300ms",
    onError: (e) => void errors.push(String(e)),
  });
  await worker.start();
}, 60_000);

afterAll(async () => {
  await worker?.close();
  await client?.close();
  await cluster?.stop();
});

/** Starts `n` runs and waits for every result. */
async function runs(n: number, from: number): Promise<number[]> {
  const ids = await Promise.all(Array.from({ length: n }, (_, i) => client.start(doubled, from + i).then((h) => h.id)));
  return Promise.all(ids.map((id) => client.result<number>(id, { timeout: "60s" })));
}

/** The three failovers: a replica elected, one taking over at once, and one held back while every connection drops. */
const FAILOVERS: FailoverOptions[] = [
  {},
  { promotion: "takeover" },
  {
    replicaLagMs: 1,
    whileMasterDown: async () => {
      await cluster.waitUntilFailing();
      await cluster.dropClients();
    },
  },
];

it("after each master fails over, the same worker takes and finishes runs of every partition", async () => {
  expect(await runs(24, 0)).toEqual(Array.from({ length: 24 }, (_, i) => i * 2 + 1));
  const masters = await cluster.masters();
  expect(masters).toHaveLength(FAILOVERS.length);
  for (const [i, { master }] of masters.entries()) {
    const failover = await cluster.failOver(master, FAILOVERS[i]);
    expect(failover.promoted).not.toBe(master);
    expect(await runs(24, 100 * (i + 1))).toEqual(Array.from({ length: 24 }, (_, n) => (100 * (i + 1) + n) * 2 + 1));
  }
});
