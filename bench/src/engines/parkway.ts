/**
 * Parkway as the bench drives it: a `ParkwayClient` in the harness starts and
 * signals runs; `apps/worker` processes (the packaged worker, unchanged)
 * advance them. Each session gets its own namespace, deleted afterwards.
 */
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { dropNamespace, ParkwayClient } from "@parkway/bullmq";
import type { Redis } from "ioredis";
import type { BenchConfig } from "../config.js";
import { now } from "../events.js";
import { spawnWorkers, spawnWorker, type WorkerProcess } from "../processes.js";
import { workflowFor } from "./parkway-workflows.js";
import type { Engine, EngineSession, SessionOptions } from "./types.js";

/** The packaged worker process, as users run it. */
const WORKER_MAIN = fileURLToPath(new URL("../../../apps/worker/dist/main.js", import.meta.url));
/** This package's compiled workflows module, loaded by the worker. */
const WORKFLOWS = fileURLToPath(new URL("./parkway-workflows.js", import.meta.url));

/** Parkway on Redis with `apps/worker` processes. */
export async function parkwayEngine(config: BenchConfig, redis: Redis): Promise<Engine> {
  return {
    name: "parkway",
    share: 1,
    onRedis: true,
    notes: [`apps/worker processes, --concurrency ${config.concurrency}; wake-up jobs and store on the same Redis`],
    open: (options) => openSession(config, redis, options),
    dispose: async () => undefined,
  };
}

async function openSession(config: BenchConfig, redis: Redis, options: SessionOptions): Promise<EngineSession> {
  const namespace = `bench-${randomBytes(5).toString("hex")}`;
  const workflow = workflowFor(options.shape);
  const client = new ParkwayClient({ connection: config.redisUrl, namespace, workflows: [workflow] });
  // Finishes arrive over the store's pub/sub channel, which every finish publishes anyway.
  const unsubscribe = await client.store.onFinish((id) => options.events.add("done", id, now()));
  let workers: WorkerProcess[] = [];
  return {
    start: async (run) => {
      await client.start(workflow, 0, { id: run });
    },
    startWorkers: async () => {
      workers = await spawnWorkers(options.workers, () =>
        spawnWorker(
          WORKER_MAIN,
          ["--workflows", WORKFLOWS, "--redis", config.redisUrl, "--namespace", namespace, "--concurrency", String(options.concurrency)],
          {
            events: options.events,
            readyText: `on namespace ${namespace}, concurrency`,
            env: { BENCH_SHAPE: JSON.stringify(options.shape) },
          },
        ),
      );
    },
    signal: (run) => client.signal(run, "go", 1),
    parked: () => redis.zcard(client.store.keys.status("parked")),
    close: async () => {
      await Promise.all(workers.map((w) => w.stop()));
      await unsubscribe();
      await client.close();
      await dropNamespace(redis, namespace);
    },
  };
}
