#!/usr/bin/env node
/**
 * Measures that retention gives memory back: runs N runs to completion
 * (start, acquire, two commits, finish) under a short retention, waits for it
 * to pass, lets the trim run, and compares Redis `used_memory` and the
 * namespace's keys with those of the empty namespace.
 *
 *   node packages/redis/scripts/measure-retention-memory.mjs [runs] [redis-url]
 *
 * Use a Redis of its own (used_memory is server-wide): for example
 * `redis-server --port 6390 --save "" --appendonly no` and redis://127.0.0.1:6390.
 * Build the package first (`npx turbo run build`).
 */
import { Redis } from "ioredis";
import { namespaceKeys, RedisStore } from "../dist/index.js";

const runs = Number(process.argv[2] ?? 100_000);
const url = process.argv[3] ?? "redis://127.0.0.1:6390";
const namespace = "retention-memory";
const RETENTION_MS = 3000;
const CONCURRENCY = 200;

const redis = new Redis(url);
const store = new RedisStore({ connection: url, namespace, onWarning: () => {} });
const bytes = (text) => new TextEncoder().encode(text);

async function usedMemory() {
  await redis.call("MEMORY", "PURGE").catch(() => undefined);
  const info = await redis.info("memory");
  return Number(/used_memory:(\d+)/.exec(info)[1]);
}

async function keyCount() {
  let n = 0;
  for await (const batch of namespaceKeys(redis, namespace)) n += batch.length;
  return n;
}

async function oneRun(i) {
  const id = `run-${i}`;
  await store.start({ id, workflow: "measured", hash: "h", input: bytes(`input ${i}`.padEnd(200, ".")) });
  const got = await store.acquire(id, 60_000);
  if (!got.acquired) throw new Error(`${id} not acquired`);
  const a = await store.commit(id, got.run.header.version, "a", bytes("output a".padEnd(300, ".")), 1, 60_000);
  const b = await store.commit(id, a.version, "b", bytes("output b".padEnd(300, ".")), 1, 60_000);
  await store.finish(id, b.version, { status: "completed", result: bytes("result".padEnd(200, ".")) });
}

async function runAll(count, offset) {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < count) await oneRun(offset + next++);
    }),
  );
}

async function waitAndTrim() {
  await new Promise((resolve) => setTimeout(resolve, RETENTION_MS + 500));
  let trimmed = 0;
  for (;;) {
    const { trimmed: n } = await store.trimExpired(1000);
    trimmed += n;
    if (n === 0) return trimmed;
  }
}

await store.setRetention(null, { completed: RETENTION_MS });
// A warm-up first, gone before the baseline: the scripts are loaded and the connections' buffers
// grown, so the baseline is the empty namespace of a server that has run Parkway, not a cold one.
await runAll(CONCURRENCY * 5, runs);
await waitAndTrim();
const empty = { memory: await usedMemory(), keys: await keyCount() };
const started = Date.now();
await runAll(runs, 0);
const ranMs = Date.now() - started;
const full = { memory: await usedMemory(), keys: await keyCount(), counts: await store.counts() };
const trimmed = await waitAndTrim();
const after = { memory: await usedMemory(), keys: await keyCount(), counts: await store.counts() };
console.log(
  JSON.stringify(
    {
      runs,
      ranMs,
      retentionMs: RETENTION_MS,
      trimmed,
      emptyNamespace: empty,
      allFinished: full,
      afterRetention: after,
      differenceBytes: after.memory - empty.memory,
    },
    null,
    2,
  ),
);
await store.close();
await redis.quit();
