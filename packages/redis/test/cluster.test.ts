/**
 * The store on a Redis Cluster of three masters: the behaviour suite on a
 * namespace of six partitions, and the partitions' keys spread over every
 * master, each partition's keys in one slot.
 */
import { describeEngineConformance } from "@parkway/core/testing";
import type { Cluster } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dropNamespace, namespaceKeys, partitionOf, RedisStore } from "../src/index.js";
import { LocalCluster } from "./cluster.js";
import { payload, randomNamespace } from "./helpers.js";
import { redisHarness } from "./harness.js";

let cluster: LocalCluster;
let admin: Cluster;
beforeAll(async () => {
  cluster = await LocalCluster.start();
  admin = cluster.connect();
}, 60_000);
afterAll(async () => {
  await admin?.quit();
  await cluster?.stop();
});

describeEngineConformance("redis cluster, 6 partitions", () =>
  redisHarness(
    () => admin,
    () => cluster.connect(),
    6,
  ),
);

describe("a namespace of six partitions on a Cluster of three masters", () => {
  it("keeps each partition's keys in one slot and spreads the partitions over every master", async () => {
    // A partition's slot is the CRC16 of its tag: six of them miss one of three masters about one
    // namespace in four. Take a namespace whose six partitions reach all three.
    let namespace = randomNamespace();
    const masters = (ns: string) => Promise.all([0, 1, 2, 3, 4, 5].map((p) => cluster.masterOf(`{${ns}:${p}}`)));
    while (new Set(await masters(namespace)).size < 3) namespace = randomNamespace();
    const store = new RedisStore({ connection: admin, namespace, partitions: 6, onWarning: () => {} });
    try {
      const ids = Array.from({ length: 60 }, (_, i) => `run-${i}`);
      for (const id of ids) await store.start({ id, workflow: "w", hash: "h", input: payload("{}") });
      // Every partition got runs (60 ids hashed over 6 partitions).
      expect(new Set(ids.map((id) => partitionOf(id, 6))).size).toBe(6);

      const slotsOfPartition = new Map<string, Set<number>>();
      for await (const keys of namespaceKeys(admin, namespace)) {
        for (const key of keys) {
          const tag = key.slice(0, key.indexOf("}:") + 1);
          const slot = Number(await admin.cluster("KEYSLOT", key));
          slotsOfPartition.set(tag, (slotsOfPartition.get(tag) ?? new Set()).add(slot));
        }
      }
      // The meta key's tag and the six partitions' tags, each in exactly one slot.
      expect([...slotsOfPartition.keys()].sort()).toEqual(
        [`{${namespace}}`, ...[0, 1, 2, 3, 4, 5].map((p) => `{${namespace}:${p}}`)].sort(),
      );
      for (const slots of slotsOfPartition.values()) expect(slots.size).toBe(1);

      // The masters that hold the partitions' keys (COUNTKEYSINSLOT counts a node's own keys): all three.
      const holders = new Set<string>();
      for (const node of admin.nodes("master")) {
        for (const [tag, slots] of slotsOfPartition) {
          if (tag === `{${namespace}}`) continue;
          const [slot] = [...slots];
          if (Number(await node.cluster("COUNTKEYSINSLOT", slot!)) > 0) holders.add(`${node.options.host}:${node.options.port}`);
        }
      }
      expect(holders.size).toBe(3);

      const page = await store.list({ limit: 100 });
      expect(page.runs.map((run) => run.id).sort()).toEqual([...ids].sort());
      expect((await store.counts()).pending).toBe(60);
    } finally {
      await store.close();
      await dropNamespace(admin, namespace);
    }
  });
});
