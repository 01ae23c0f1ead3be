/**
 * A namespace is matched exactly when its keys are listed or dropped: its name
 * is never read as a SCAN pattern.
 */
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, expect, it } from "vitest";
import { dropNamespace, RedisStore } from "../src/index.js";
import { keysOf, payload, REDIS_URL, storeOn } from "./helpers.js";

let redis: Redis;
const base = `pk-test-${randomUUID().slice(0, 8)}-`;
/** Each namespace a glob would misread, beside the namespaces that glob would match. */
const namespaces = ["team[12]", "team1", "team2", "a*", "abc", "a?b", "axb", "x\\y", "xy", "x\\\\y"].map((n) => base + n);

beforeAll(() => {
  redis = new Redis(REDIS_URL);
});
afterAll(async () => {
  for (const ns of namespaces) await dropNamespace(redis, ns);
  await redis.quit();
});

async function fill(ns: string): Promise<void> {
  const store = storeOn(redis, ns);
  await store.start({ id: "r", workflow: "wf", hash: "h", input: payload("in") });
  await store.close();
}

it("dropNamespace deletes exactly its own namespace, whatever glob characters its name holds", async () => {
  for (const dropped of namespaces) {
    for (const ns of namespaces) await fill(ns);
    const before = new Map(await Promise.all(namespaces.map(async (ns) => [ns, await keysOf(redis, ns)] as const)));
    for (const keys of before.values()) expect(keys.length).toBeGreaterThan(0);

    expect(await dropNamespace(redis, dropped)).toBe(before.get(dropped)!.length);

    for (const ns of namespaces) {
      expect({ ns, keys: await keysOf(redis, ns) }).toEqual({ ns, keys: ns === dropped ? [] : before.get(ns) });
    }
  }
});

it("a namespace must be a non-empty, well-formed string without the hash tag's closing brace", async () => {
  for (const bad of ["", "a}b", "lone-\ud83e", 7]) {
    expect(() => new RedisStore({ connection: redis, namespace: bad as string })).toThrow(expect.objectContaining({ code: "VALIDATION" }));
    await expect(dropNamespace(redis, bad as string)).rejects.toMatchObject({ code: "VALIDATION" });
  }
});
