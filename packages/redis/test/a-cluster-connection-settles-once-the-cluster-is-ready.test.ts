/**
 * `connect()` of a Cluster connection Parkway opens settles. While a master is
 * down and no replica took over, the cluster says `cluster_state:fail`:
 * ioredis's ready check fails, it reconnects on its own, and the promise of
 * that `connect()` would never settle, even once the cluster is ready again
 * (redis/ioredis#741). BullMQ recovers a worker's blocking connection so
 * (`disconnect()`, then `connect()`), as these tests do. Parkway's rejects
 * after 12s of looking, naming the nodes, and resolves once the cluster is
 * ready.
 */
import type { Cluster } from "ioredis";
import { afterAll, beforeAll, expect, it } from "vitest";
import { openConnection } from "../src/index.js";
import { LocalCluster, type ClusterNode } from "./cluster.js";

let cluster: LocalCluster;
let down: ClusterNode;
let redis: Cluster;

beforeAll(async () => {
  cluster = await LocalCluster.start({ nodeTimeoutMs: 1000 });
  down = (await cluster.masters())[0]!.master;
  await cluster.stopNode(down);
  await cluster.waitUntilFailing();
  redis = openConnection(cluster.urls, "a test").redis as Cluster;
  redis.on("error", () => undefined);
}, 60_000);

afterAll(async () => {
  redis?.disconnect();
  await cluster?.stop();
});

/** Disconnects, as BullMQ does before it connects again (an ended Cluster would only stay "disconnecting"). */
function disconnect(): void {
  if (redis.status !== "end") redis.disconnect();
}

it("rejects, naming the nodes, while the cluster stays failing", async () => {
  disconnect();
  // Whether ioredis gives up at once (the old nodes' connections ending end the new attempt) or keeps trying.
  await expect(redis.connect()).rejects.toThrow(
    /Redis Cluster 127\.0\.0\.1:\d+.*(ended before the cluster was ready|was not ready within 12s)/,
  );
}, 30_000);

it("resolves once the cluster is ready again, and the connection answers", async () => {
  disconnect();
  // Its first ready check finds the cluster failing: the master comes back, and the cluster takes seconds to agree.
  const connecting = redis.connect();
  await cluster.startNode(down);
  await cluster.waitUntilReady();
  await connecting;
  expect(redis.status).toBe("ready");
  expect(await redis.ping()).toBe("PONG");
}, 30_000);
