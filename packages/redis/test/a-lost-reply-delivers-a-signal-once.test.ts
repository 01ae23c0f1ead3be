/**
 * ioredis resends a command whose reply a dropped connection lost. For every
 * script but one that is harmless; `signalRun` would buffer the signal twice.
 * A proxy between the store and Redis swallows one reply and cuts the
 * connection, as a network failure right after Redis ran the script would.
 */
import { connect, createServer, type Server, type Socket } from "node:net";
import { DurableClient } from "@parkway/core";
import { Redis } from "ioredis";
import { afterAll, beforeAll, expect, it } from "vitest";
import { RedisStore } from "../src/index.js";
import { dropNamespace, payload, randomNamespace, REDIS_URL } from "./helpers.js";

/** A TCP proxy to Redis that can drop the next reply and close both sides. */
async function lossyProxy(target: URL): Promise<{ port: number; dropNextReply(): void; close(): Promise<void> }> {
  let dropping = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port || 6379), target.hostname);
    const cut = () => {
      client.destroy();
      upstream.destroy();
    };
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", cut).on("error", cut);
    }
    client.on("data", (chunk) => upstream.write(chunk));
    upstream.on("data", (chunk) => {
      if (!dropping) return void client.write(chunk);
      dropping = false;
      cut();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  return {
    port: typeof address === "object" && address ? address.port : 0,
    dropNextReply: () => void (dropping = true),
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

const ns = randomNamespace();
let admin: Redis;
let proxy: Awaited<ReturnType<typeof lossyProxy>>;
let store: RedisStore;
let client: DurableClient;

beforeAll(async () => {
  admin = new Redis(REDIS_URL);
  proxy = await lossyProxy(new URL(REDIS_URL));
  store = new RedisStore({ connection: `redis://127.0.0.1:${proxy.port}`, namespace: ns, onWarning: () => {} });
  client = new DurableClient({ store, waker: { wake: async () => {} } });
  await store.start({ id: "r", workflow: "wf", hash: "h", input: payload("in") });
  // Load the script and check the eviction policy now, so the next reply is the signal's.
  await client.signal("r", "warm-up", 0);
});

afterAll(async () => {
  await client.close();
  await store.close();
  await proxy.close();
  await dropNamespace(admin, ns);
  await admin.quit();
});

it("a signal whose reply was lost is buffered once when the connection resends it", async () => {
  proxy.dropNextReply();
  await client.signal("r", "go", "once");
  expect(await admin.llen(store.keys.signals("r", "go"))).toBe(1);
});

it("the resend is real: a signal without a delivery id would be buffered twice", async () => {
  proxy.dropNextReply();
  await store.signal("r", "bare", payload("twice"));
  expect(await admin.llen(store.keys.signals("r", "bare"))).toBe(2);
});
