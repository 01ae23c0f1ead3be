/**
 * Parkway as the bench drives it: a `ParkwayClient` in the harness starts and
 * signals runs; `apps/worker` processes (the packaged worker, unchanged)
 * advance them. Each session gets its own namespace of `--partitions`
 * partitions, deleted afterwards. On a Redis Cluster the workers get the
 * Cluster's nodes as their `--redis` list, as users would run them.
 */
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { dropNamespace, ParkwayClient } from "@parkway/bullmq";
import { isCluster, partitionTag, type RedisConnection } from "@parkway/redis";
import type { Cluster } from "ioredis";
import type { BenchConfig } from "../config.js";
import { now } from "../events.js";
import { spawnWorkers, spawnWorker, type WorkerProcess } from "../processes.js";
import { workflowFor } from "./parkway-workflows.js";
import type { Engine, EngineSession, SessionOptions } from "./types.js";

/** The packaged worker process, as users run it. */
const WORKER_MAIN = fileURLToPath(new URL("../../../apps/worker/dist/main.js", import.meta.url));
/** This package's compiled workflows module, loaded by the worker. */
const WORKFLOWS = fileURLToPath(new URL("./parkway-workflows.js", import.meta.url));
/** Namespaces tried for one whose partitions spread evenly over a Cluster's masters. */
const SPREAD_TRIES = 50;

/** Parkway on Redis with `apps/worker` processes. */
export async function parkwayEngine(config: BenchConfig, redis: RedisConnection): Promise<Engine> {
  const where = config.redisCluster ? "on the Redis Cluster" : "on the same Redis";
  const notes = [
    `apps/worker processes, --concurrency ${config.concurrency}; wake-up jobs and store ${where}`,
    `namespace of ${config.partitions} partition${config.partitions === 1 ? "" : "s"} (--partitions)`,
  ];
  if (config.redisCluster && config.partitions > 1) {
    notes.push("each session's namespace is one whose partitions spread evenly over the masters (a random one may miss a master)");
  }
  return {
    name: "parkway",
    share: 1,
    onRedis: true,
    notes,
    open: (options) => openSession(config, redis, options),
    dispose: async () => undefined,
  };
}

async function openSession(config: BenchConfig, redis: RedisConnection, options: SessionOptions): Promise<EngineSession> {
  const namespace = await namespaceFor(redis, config.partitions);
  const workflow = workflowFor(options.shape);
  const client = new ParkwayClient({ connection: config.redisUrl, namespace, partitions: config.partitions, workflows: [workflow] });
  // Finishes arrive over the store's pub/sub channel, which every finish publishes anyway.
  const unsubscribe = await client.store.onFinish((id) => options.events.add("done", id, now()));
  let workers: WorkerProcess[] = [];
  const args = ["--workflows", WORKFLOWS, "--redis", config.redisUrl, "--namespace", namespace];
  args.push("--partitions", String(config.partitions), "--concurrency", String(options.concurrency));
  return {
    start: async (run) => {
      await client.start(workflow, inputOf(run), { id: run });
    },
    startWorkers: async () => {
      workers = await spawnWorkers(options.workers, () =>
        spawnWorker(WORKER_MAIN, args, {
          events: options.events,
          readyText: `on namespace ${namespace}, concurrency`,
          env: { BENCH_SHAPE: JSON.stringify(options.shape) },
        }),
      );
    },
    signal: (run) => client.signal(run, "go", 1),
    parked: async () => {
      const counts = await Promise.all(client.store.layouts.map((k) => client.store.redis.zcard(k.status("parked"))));
      return counts.reduce((a, b) => a + b, 0);
    },
    workerPids: () => workers.map((w) => w.pid),
    close: async () => {
      await Promise.all(workers.map((w) => w.stop()));
      await unsubscribe();
      await client.close();
      await dropNamespace(redis, namespace);
    },
  };
}

/** A run's input: the number its id ends with (its index), which the flow-control scenario keys its limits by. */
function inputOf(run: string): number {
  return Number(/(\d+)$/.exec(run)?.[1] ?? 0);
}

/**
 * A fresh namespace. On a Cluster, one whose partitions' slots spread as evenly as they can over
 * the masters: a partition's slot is the CRC16 of its tag, so a random namespace of 6 partitions
 * misses one of 3 masters about one time in four, and the curve would measure that instead.
 */
async function namespaceFor(redis: RedisConnection, partitions: number): Promise<string> {
  const fresh = () => `bench-${randomBytes(5).toString("hex")}`;
  if (!isCluster(redis) || partitions === 1) return fresh();
  const masterOf = await slotMasters(redis);
  const masters = new Set(masterOf).size;
  const even = partitions % masters === 0 ? 0 : 1;
  let best = { namespace: fresh(), spread: Infinity };
  for (let i = 0; i < SPREAD_TRIES && best.spread > even; i++) {
    const namespace = fresh();
    const perMaster = new Map<string, number>();
    for (let p = 0; p < partitions; p++) {
      const slot = Number(await redis.cluster("KEYSLOT", `{${partitionTag(namespace, p, partitions)}}`));
      const master = masterOf[slot] ?? "?";
      perMaster.set(master, (perMaster.get(master) ?? 0) + 1);
    }
    const counts = [...perMaster.values()];
    const spread = Math.max(...counts) - (perMaster.size < masters ? 0 : Math.min(...counts));
    if (spread < best.spread) best = { namespace, spread };
  }
  return best.namespace;
}

/** The master (`host:port`) serving each of the 16,384 slots, from CLUSTER SLOTS. */
async function slotMasters(redis: Cluster): Promise<string[]> {
  const ranges = (await redis.cluster("SLOTS")) as unknown as [number, number, [string, number, ...unknown[]], ...unknown[]][];
  const owners: string[] = [];
  for (const [from, to, [host, port]] of ranges) for (let slot = from; slot <= to; slot++) owners[slot] = `${host}:${port}`;
  return owners;
}
