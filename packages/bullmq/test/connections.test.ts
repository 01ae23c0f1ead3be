/**
 * Connections are taken as BullMQ takes them: a URL, ioredis options, an ioredis
 * Redis (shared: never closed by Parkway) or an ioredis Cluster. Anything else
 * is a ValidationError naming what was given.
 */
import { flow } from "@parkway/core";
import { clusterSeeds, duplicateConnection, openConnection, partitionOf } from "@parkway/redis";
import { Cluster, Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { dropNamespace, ParkwayClient, WorkflowWorker, type Connection } from "../src/index.js";
import { concurrencyShare } from "../src/worker.js";
import { REDIS_URL, testSpace } from "./helpers.js";

const space = testSpace();
const admin = new Redis(REDIS_URL);
afterAll(async () => {
  await space.cleanup(admin);
  await admin.quit();
});

const double = flow<number>("connections-double")
  .then("double", (n) => n * 2)
  .build();

const { hostname, port } = new URL(REDIS_URL);

/** Runs one workflow to its end with a worker and a client both given `connection`. */
async function roundTrip(connection: Connection, input: number): Promise<number> {
  const worker = new WorkflowWorker({ connection, workflows: [double], namespace: space.namespace });
  const client = new ParkwayClient({ connection, namespace: space.namespace });
  try {
    await worker.start();
    const { id } = await client.start(double, input);
    return await client.result<number>(id, { timeout: "20s" });
  } finally {
    await client.close();
    await worker.close();
  }
}

describe("a connection given", () => {
  it("as a URL runs workflows", async () => {
    expect(await roundTrip(REDIS_URL, 1)).toBe(2);
  });

  it("as ioredis options ({ host, port }) runs workflows (BullMQ's usual form)", async () => {
    expect(await roundTrip({ host: hostname, port: Number(port || 6379) }, 2)).toBe(4);
  });

  it("as an ioredis Redis runs workflows, and is never closed by the client or the worker", async () => {
    const shared = new Redis(REDIS_URL);
    try {
      expect(await roundTrip(shared, 3)).toBe(6);
      expect(shared.status).toBe("ready");
      expect(await shared.ping()).toBe("PONG");
    } finally {
      await shared.quit();
    }
  });

  it("as an ioredis Redis with auto-pipelining runs workflows (ioredis sends a generic call's command name wrong when it pipelines)", async () => {
    const shared = new Redis(REDIS_URL, { enableAutoPipelining: true });
    try {
      expect(await roundTrip(shared, 5)).toBe(10);
      expect(shared.autoPipelineQueueSize).toBe(0);
    } finally {
      await shared.quit();
    }
  });

  it("as an ioredis Cluster is taken as shared, and its duplicates keep the node options with ours added", () => {
    const cluster = new Cluster([{ host: "127.0.0.1", port: 1 }], { lazyConnect: true, redisOptions: { username: "u", password: "p" } });
    const opened = openConnection(cluster, "test");
    expect(opened).toEqual({ redis: cluster, owned: false });
    const queue = openConnection(cluster, "test", { maxRetriesPerRequest: null });
    expect(queue.owned).toBe(true);
    expect(queue.redis).toBeInstanceOf(Cluster);
    expect((queue.redis as Cluster).options.redisOptions).toMatchObject({ username: "u", password: "p", maxRetriesPerRequest: null });
    expect(duplicateConnection(cluster)).toBeInstanceOf(Cluster);
    for (const c of [cluster, queue.redis]) c.disconnect();
  });

  it("as a comma-separated list of URLs opens an ioredis Cluster on those nodes, owned and closed by Parkway", () => {
    const opened = openConnection("redis://u:secret@10.0.0.1:7000, redis://10.0.0.2", "test", { maxRetriesPerRequest: null });
    expect(opened.owned).toBe(true);
    const cluster = opened.redis as Cluster;
    expect(cluster).toBeInstanceOf(Cluster);
    expect(cluster.options.redisOptions).toMatchObject({ username: "u", password: "secret", maxRetriesPerRequest: null });
    expect(clusterSeeds("redis://10.0.0.1:7000,", "test")?.nodes).toEqual([{ host: "10.0.0.1", port: 7000 }]);
    expect(clusterSeeds("rediss://a:1,rediss://b:2", "test")).toEqual({
      nodes: [
        { host: "a", port: 1 },
        { host: "b", port: 2 },
      ],
      redisOptions: { tls: {} },
    });
    expect(clusterSeeds("redis://10.0.0.1:7000", "test")).toBeNull();
    cluster.disconnect();
  });

  it("as a list with an entry that is not a Redis URL is a ValidationError naming it, without its password", () => {
    for (const make of [
      () => new ParkwayClient({ connection: "redis://u:secret@a:1,a:2" }),
      () => new WorkflowWorker({ connection: "redis://a:1,,redis://b:2", workflows: [double] }),
      () => new ParkwayClient({ connection: "redis://a:1,http://u:secret@b:2" }),
    ]) {
      expect(make).toThrow(
        expect.objectContaining({
          code: "VALIDATION",
          message: expect.stringMatching(/in the list of Redis Cluster nodes is not a Redis URL/) as unknown,
        }),
      );
      expect(make).not.toThrow(/secret/);
    }
  });

  it.each([
    [42, /connection must be a Redis URL.*got number 42/],
    [null, /got null/],
    [undefined, /got undefined/],
    [[REDIS_URL], /got an array/],
    [new Map(), /got an instance of Map/],
    [() => REDIS_URL, /got a function/],
  ])("as %o is a ValidationError naming what was given", (bad, message) => {
    for (const make of [
      () => new ParkwayClient({ connection: bad as Connection }),
      () => new WorkflowWorker({ connection: bad as Connection, workflows: [double] }),
    ]) {
      expect(make).toThrow(expect.objectContaining({ code: "VALIDATION", message: expect.stringMatching(message) as unknown }));
    }
  });
});

describe("partitions", () => {
  it.each([0, 129, 2.5, "4"])("%o is a ValidationError naming the option, before any connection opens", (bad) => {
    for (const make of [
      () => new ParkwayClient({ connection: REDIS_URL, partitions: bad as number }),
      () => new WorkflowWorker({ connection: REDIS_URL, partitions: bad as number, workflows: [double] }),
    ]) {
      expect(make).toThrow(
        expect.objectContaining({
          code: "VALIDATION",
          message: expect.stringMatching(/^partitions must be an integer between 1 and 128/) as unknown,
        }),
      );
    }
  });

  it("a worker's concurrency is split over its partitions, each serving at least one run", () => {
    const shares = (concurrency: number, partitions: number) =>
      Array.from({ length: partitions }, (_, p) => concurrencyShare(concurrency, p, partitions));
    expect(shares(10, 1)).toEqual([10]);
    expect(shares(10, 4)).toEqual([3, 3, 2, 2]);
    expect(shares(12, 6)).toEqual([2, 2, 2, 2, 2, 2]);
    expect(shares(2, 4)).toEqual([1, 1, 1, 1]);
  });

  it("a run's wake-ups go to its partition's queue, whose prefix is the partition's hash tag", async () => {
    const namespace = `${space.namespace}-p`;
    const client = new ParkwayClient({ connection: REDIS_URL, namespace, partitions: 4 });
    try {
      expect(client.wakeQueue.queues.map((q) => q.opts.prefix)).toEqual([0, 1, 2, 3].map((p) => `{${namespace}:${p}}:bull`));
      await client.start(double, 1, { id: "r" });
      const queue = client.wakeQueue.queueOf("r");
      expect(queue).toBe(client.wakeQueue.queues[partitionOf("r", 4)]);
      expect(await queue.getWaitingCount()).toBe(1);
      const others = client.wakeQueue.queues.filter((q) => q !== queue);
      expect(await Promise.all(others.map((q) => q.getWaitingCount()))).toEqual([0, 0, 0]);
    } finally {
      await client.close();
      await dropNamespace(admin, namespace);
    }
  });
});

describe("unknown options", () => {
  it("ParkwayClient refuses an option it does not know, naming it", () => {
    expect(() => new ParkwayClient({ connection: REDIS_URL, namspace: "x" } as never)).toThrow(
      expect.objectContaining({ code: "VALIDATION", message: expect.stringContaining('unknown option "namspace"') as unknown }),
    );
  });

  it("start refuses an option it does not know, naming it, and starts nothing", async () => {
    const client = new ParkwayClient({ connection: REDIS_URL, namespace: space.namespace });
    try {
      await expect(client.start(double, 1, { id: "typo", idempotencyKey: "k" } as never)).rejects.toMatchObject({
        code: "VALIDATION",
        message: expect.stringContaining('start: unknown option "idempotencyKey"') as unknown,
      });
      await expect(client.status("typo")).rejects.toMatchObject({ code: "UNKNOWN_INSTANCE" });
    } finally {
      await client.close();
    }
  });
});
