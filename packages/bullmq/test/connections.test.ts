/**
 * Connections are taken as BullMQ takes them: a URL, ioredis options, an ioredis
 * Redis (shared: never closed by Parkway) or an ioredis Cluster. Anything else
 * is a ValidationError naming what was given.
 */
import { flow } from "@parkway/core";
import { duplicateConnection, openConnection } from "@parkway/redis";
import { Cluster, Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { ParkwayClient, WorkflowWorker, type Connection } from "../src/index.js";
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
