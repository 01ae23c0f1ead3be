#!/usr/bin/env node
/**
 * What flow control costs per admitted step on Redis: the commands a step sends (admit, then
 * release) and the time Redis spends in them, from INFO commandstats of a Redis that only this
 * script uses. Run against a private server: `redis-server --port 6390 --save ''` then
 * `node packages/redis/scripts/measure-admission.mjs redis://127.0.0.1:6390` (after a build).
 */
import { Redis } from "ioredis";
import { RedisStore } from "../dist/index.js";

const url = process.argv[2] ?? "redis://127.0.0.1:6390";
const steps = Number(process.argv[3] ?? 5000);
const redis = new Redis(url);
const store = new RedisStore({ connection: url, namespace: `measure-${process.pid}` });
const control = store.flowControl;
const request = (n) => ({
  limit: `task:call:k${n % 10}`,
  kind: "concurrency",
  max: 2,
  periodMs: 0,
  leaseMs: 30_000,
  holder: `run-${n}@1/call`,
  waiter: `run-${n}`,
  priority: 0,
});

async function evalStats() {
  const text = await redis.info("commandstats");
  let calls = 0;
  let usec = 0;
  for (const line of text.split("\n")) {
    const m = /^cmdstat_(evalsha|eval):calls=(\d+),usec=(\d+)/.exec(line);
    if (m) ((calls += Number(m[2])), (usec += Number(m[3])));
  }
  return { calls, usec };
}

// Warm the script cache first, so EVAL fallbacks do not count.
await control.admit(request(0));
await control.release({ limit: request(0).limit, holder: request(0).holder }, 2, 30_000);
const before = await evalStats();
const started = performance.now();
for (let n = 0; n < steps; n++) {
  const r = request(n);
  const admitted = await control.admit(r);
  if (!admitted.admitted) throw new Error("a sequential admission was refused");
  await control.release({ limit: r.limit, holder: r.holder }, r.max, r.leaseMs);
}
const wallUs = ((performance.now() - started) * 1000) / steps;
const after = await evalStats();
const calls = after.calls - before.calls;
console.log(
  JSON.stringify({
    steps,
    commandsPerStep: calls / steps,
    redisUsecPerStep: Number(((after.usec - before.usec) / steps).toFixed(2)),
    roundTripUsecPerStep: Number(wallUs.toFixed(1)),
  }),
);
await store.close();
await redis.quit();
