#!/usr/bin/env node
/**
 * What `WAIT 1 <timeout>` after every commit would cost: commits per second on one connection, as
 * a worker sends them, with and without a WAIT for one replica after each, one run at a time and
 * `inFlight` runs at once. WAIT blocks the connection that sent it until the replica acknowledged
 * that connection's writes, so the commits of the other runs on it wait behind it. Run it against
 * a master with one replica that only this script uses:
 *   redis-server --port 6391 --save '' --appendonly yes --appendfsync always --dir /tmp --appenddirname aof-6391
 *   redis-server --port 6392 --save '' --replicaof 127.0.0.1 6391
 *   node packages/redis/scripts/measure-replica-wait.mjs redis://127.0.0.1:6391 (after a build)
 */
import { RedisStore } from "../dist/index.js";

const url = process.argv[2] ?? "redis://127.0.0.1:6391";
const commits = Number(process.argv[3] ?? 3000);
const inFlight = Number(process.argv[4] ?? 32);
const WAIT_MS = 100;
const store = new RedisStore({ connection: url, namespace: `measure-${process.pid}`, onWarning: () => {} });
const payload = new TextEncoder().encode("o".repeat(200));
let timedOut = 0;

/** Starts and acquires a run, then commits `steps` steps to it, each followed by a WAIT when `wait`. */
async function commitSteps(id, steps, wait) {
  await store.start({ id, workflow: "w", hash: "h", input: payload });
  const got = await store.acquire(id, 60_000);
  let version = got.run.header.version;
  for (let i = 0; i < steps; i++) {
    version = (await store.commit(id, version, `s${i}`, payload, 1, 60_000)).version;
    if (wait && (await store.redis.wait(1, WAIT_MS)) < 1) timedOut++;
  }
}

/** Commits per second: `commits` commits spread over `runs` runs at once. */
async function rate(wait, runs) {
  const started = performance.now();
  const tag = `${wait ? "wait" : "nowait"}-${runs}-${Math.random().toString(36).slice(2)}`;
  await Promise.all(Array.from({ length: runs }, (_, r) => commitSteps(`${tag}-${r}`, Math.ceil(commits / runs), wait)));
  return Math.round(commits / ((performance.now() - started) / 1000));
}

const replicas = Number(/connected_slaves:(\d+)/.exec(await store.redis.info("replication"))?.[1] ?? 0);
if (replicas < 1) throw new Error(`${url} has no replica: start one with --replicaof (see the top of this script)`);
await rate(false, inFlight); // warm the scripts and the connection
const result = {
  commits,
  inFlight,
  oneAtATime: { commitsPerSecond: await rate(false, 1), withWait: await rate(true, 1) },
  concurrent: { commitsPerSecond: await rate(false, inFlight), withWait: await rate(true, inFlight) },
  waitsTimedOut: timedOut,
};
console.log(JSON.stringify(result));
await store.close();
