/**
 * Worker processes on a Redis Cluster of three masters, serving a namespace of
 * six partitions: each partition's runs and wake-up queue in its own slot,
 * the partitions spread over every master, every step run exactly once.
 */
import type { ChildProcess } from "node:child_process";
import { RUN_STATUSES } from "@parkway/core";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { LocalCluster } from "../../redis/test/cluster.js";
import { ParkwayClient, queuePrefix, WorkflowWorker } from "../src/index.js";
import { REDIS_URL, stopWorker, testSpace } from "./helpers.js";
import { threeWorkersShareRuns } from "./scenarios.js";
import { mixed } from "./fixtures/workflows.mjs";

const PARTITIONS = 6;
let cluster: LocalCluster;
let ledger: Redis;
let space: ReturnType<typeof testSpace>;
let client: ParkwayClient;
const workers: ChildProcess[] = [];

/** The master serving each partition of `namespace`. */
const mastersOf = (namespace: string) => Promise.all(Array.from({ length: PARTITIONS }, (_, p) => cluster.masterOf(`{${namespace}:${p}}`)));

beforeAll(async () => {
  cluster = await LocalCluster.start();
  ledger = new Redis(REDIS_URL);
  // A partition's slot is the CRC16 of its tag: six of them miss one of three masters about one
  // namespace in four. Take a namespace whose six partitions reach all three.
  do space = testSpace();
  while (new Set(await mastersOf(space.namespace)).size < 3);
  client = new ParkwayClient({ connection: cluster.urls, namespace: space.namespace, partitions: PARTITIONS });
});

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => stopWorker(w, "SIGKILL")));
});

afterAll(async () => {
  await client?.close();
  await space?.cleanup(ledger); // the ledger
  await ledger?.quit();
  await cluster?.stop();
});

describe("WorkflowWorker processes on a Redis Cluster, six partitions", () => {
  it("three workers share 150 runs, every step once, and every master serves partitions", async () => {
    await threeWorkersShareRuns({
      client,
      ledger,
      space,
      workers,
      runs: 150,
      redis: cluster.urls,
      flags: ["--partitions", String(PARTITIONS)],
    });
    // Each partition's runs and BullMQ keys live in its slot, on the master that serves it.
    const holders = new Set<string>();
    for (let p = 0; p < PARTITIONS; p++) {
      const tag = `{${space.namespace}:${p}}`;
      expect(queuePrefix(space.namespace, p, PARTITIONS)).toBe(`${tag}:bull`);
      const master = await cluster.masterOf(tag);
      const [host, port] = master.split(":");
      const node = new Redis(Number(port), host!);
      try {
        const slot = Number(await node.cluster("KEYSLOT", tag));
        expect(Number(await node.cluster("COUNTKEYSINSLOT", slot)), tag).toBeGreaterThan(0);
        expect(await node.exists(...RUN_STATUSES.map((status) => `${tag}:status:${status}`)), tag).toBeGreaterThan(0);
        expect(await node.exists(`${tag}:bull:wake:meta`), tag).toBe(1);
        holders.add(master);
      } finally {
        node.disconnect();
      }
    }
    expect(holders.size).toBe(3);
  });

  it("a worker or client configured with another partition count is refused, naming both", async () => {
    const worker = new WorkflowWorker({ connection: cluster.urls, namespace: space.namespace, partitions: 3, workflows: [mixed] });
    await expect(worker.start()).rejects.toThrow(new RegExp(`has ${PARTITIONS} partitions.*partitions: 3`));
    await worker.close();
    const other = new ParkwayClient({ connection: cluster.urls, namespace: space.namespace });
    await expect(other.status("mixed-0")).rejects.toThrow(new RegExp(`has ${PARTITIONS} partitions.*partitions: 1`));
    await expect(other.start(mixed, { n: 1 })).rejects.toThrow(new RegExp(`has ${PARTITIONS} partitions.*partitions: 1`));
    // Refused, it writes nothing under a partition the namespace does not have (a BullMQ queue writes
    // its meta key once its connection is ready: give it the time to).
    await new Promise((resolve) => setTimeout(resolve, 500));
    const admin = cluster.connect();
    try {
      expect(await admin.exists(`${queuePrefix(space.namespace)}:wake:meta`)).toBe(0);
    } finally {
      admin.disconnect();
      await other.close();
    }
  });
});
