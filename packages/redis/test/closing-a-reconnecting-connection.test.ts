/**
 * A connection Parkway opens can always be closed: disconnected while it
 * waits to reconnect, it ends (emits "end", rejects what was queued for the
 * reconnection), and so do its duplicates (what BullMQ makes of it); and
 * closeConnection returns while Redis is away. Runs on a private
 * redis-server: the shared one's clients are never killed, nor is it stopped.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeConnection, duplicateConnection, openConnection, type RedisConnection } from "../src/index.js";
import { PrivateRedis } from "./private-redis.js";

let redis: PrivateRedis;
let admin: Redis;

beforeAll(async () => {
  redis = await PrivateRedis.onFreePort();
  await redis.start();
  admin = new Redis(redis.url);
  admin.on("error", () => undefined);
});

afterAll(async () => {
  admin.disconnect();
  await redis.stop();
});

/** Resolves at `emitter`'s next `name` event (unlike events.once, an "error" meanwhile is no failure). */
function next(emitter: RedisConnection, name: string): Promise<void> {
  return new Promise((resolve) => emitter.once(name, () => resolve()));
}

/** A ready connection like BullMQ's (commands wait for Redis however long it takes). */
async function opened(): Promise<RedisConnection> {
  const { redis: connection } = openConnection(redis.url, "test", { maxRetriesPerRequest: null });
  connection.on("error", () => undefined);
  await connection.ping();
  return connection;
}

/** Drops `connection` from the server's side; resolves once it waits to reconnect (its next attempt is 1s away). */
async function dropped(connection: RedisConnection): Promise<void> {
  const id = await connection.client("ID");
  const reconnecting = next(connection, "reconnecting");
  await admin.client("KILL", "ID", String(id));
  await reconnecting;
}

describe("an opened connection disconnected while it waits to reconnect", () => {
  it("ends: emits end, and rejects the command queued for the reconnection", async () => {
    const connection = await opened();
    await dropped(connection);
    const queued = connection.get("k").then(
      () => "answered",
      (error: Error) => error.message,
    );
    const ended = next(connection, "end");
    connection.disconnect();
    await ended;
    expect(connection.status).toBe("end");
    expect(await queued).toBe("Connection is closed.");
  });

  it("ends when it is a duplicate too, made by ioredis or by duplicateConnection", async () => {
    const original = await opened();
    const shared = new Redis(redis.url);
    for (const copy of [original.duplicate(), duplicateConnection(original), duplicateConnection(shared)]) {
      copy.on("error", () => undefined);
      await copy.ping();
      await dropped(copy);
      const ended = next(copy, "end");
      copy.disconnect();
      await ended;
    }
    original.disconnect();
    shared.disconnect();
  });
});

it("closeConnection returns while Redis is away, though commands wait for it", async () => {
  const connection = await opened();
  await redis.stop();
  try {
    await next(connection, "reconnecting");
    const queued = connection.get("k").catch((error: Error) => error.message);
    // QUIT queues behind GET, which waits for Redis to come back: the connection is dropped instead.
    await closeConnection(connection);
    expect(await queued).toBe("Connection is closed.");
  } finally {
    await redis.start();
  }
});
