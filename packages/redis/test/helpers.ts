/** Shared set-up of the Redis tests: one random namespace per file, deleted after. */
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll } from "vitest";
import { dropNamespace, namespaceKeys, RedisStore, type RedisStoreOptions } from "../src/index.js";
import { REDIS_URL } from "../../../test/redis-url.js";

export { REDIS_URL };

/** A namespace no other test file uses. */
export function randomNamespace(): string {
  return `pk-test-${randomUUID().slice(0, 8)}`;
}

/** Every key of `namespace`, sorted. */
export async function keysOf(redis: Redis, namespace: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const batch of namespaceKeys(redis, namespace)) keys.push(...batch);
  return keys.sort();
}

export { dropNamespace };

/** A store on the shared connection, warnings silenced unless asked for. */
export function storeOn(redis: Redis, namespace: string, options: Partial<RedisStoreOptions> = {}): RedisStore {
  return new RedisStore({ connection: redis, namespace, onWarning: () => {}, ...options });
}

/** Bytes of a short text, as a payload. */
export function payload(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** A payload as text. */
export function textOf(bytes: Uint8Array | null | undefined): string | null {
  return bytes ? new TextDecoder().decode(bytes) : null;
}

/** Everything stored under `namespace`, for "nothing changed" checks (DUMP is exact to the byte). */
export async function dumpNamespace(redis: Redis, namespace: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const key of await keysOf(redis, namespace)) {
    const dump = await redis.dumpBuffer(key);
    out[key] = dump ? dump.toString("base64") : "";
  }
  return out;
}

/** Redis' clock in ms, to check that stored times are Redis', not this process'. */
export async function redisNow(redis: Redis): Promise<number> {
  const [sec, usec] = await redis.time();
  return Number(sec) * 1000 + Math.floor(Number(usec) / 1000);
}

/** Opens a connection and a store on `namespace` for the whole test file; drops the namespace after. */
export function useStore(namespace: string, assign: (redis: Redis, store: RedisStore) => void): void {
  let redis: Redis;
  let store: RedisStore;
  beforeAll(() => {
    redis = new Redis(REDIS_URL);
    store = storeOn(redis, namespace);
    assign(redis, store);
  });
  afterAll(async () => {
    await dropNamespace(redis, namespace);
    await store.close();
    await redis.quit();
  });
}
