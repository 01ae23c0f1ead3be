/**
 * The BullMQ peer: the same work as BullMQ users chain it today, with a
 * `FlowProducer` flow whose children run before their parent.
 *
 * - linear-k: a chain of k nested jobs (the deepest child is step 1, the root is step k)
 * - fanout-n: a root "join" job with n children
 * - signal-driven: BullMQ has no signals; a run parks as a delayed job and the
 *   signal is `job.promote()`, the closest primitive (a parked job made runnable now)
 * - sleeping: a delayed job (the delay counts from `add`)
 *
 * Same Redis, same number of worker processes and concurrency as Parkway;
 * its own prefix per session, deleted afterwards. The prefix is a hash tag
 * (`{bench-bull-…}`), as BullMQ asks on a Redis Cluster: a queue's keys, and
 * so all its work, live in one slot, on one master.
 */
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { FlowProducer, Queue, type FlowJob, type Job } from "bullmq";
import { closeConnection, openConnection, type RedisConnection } from "@parkway/redis";
import type { BenchConfig } from "../config.js";
import { now, type EventKind } from "../events.js";
import { spawnWorker, spawnWorkers, type WorkerProcess } from "../processes.js";
import { dropNamespace } from "@parkway/bullmq";
import type { Engine, EngineSession, SessionOptions, Shape } from "./types.js";

/** What a step job carries. */
export interface StepJob {
  readonly run: string;
  /** The event its processor records when it starts. */
  readonly mark?: EventKind;
  /** The last job of the run: its completion is the run's. */
  readonly root?: boolean;
  /** CPU milliseconds the step burns (the `work` scenario). */
  readonly workMs?: number;
}

const WORKER = fileURLToPath(new URL("./bullmq-worker.js", import.meta.url));
const QUEUE = "steps";
/** A delay long enough to mean "until signalled". */
const PARKED_MS = 365 * 24 * 3_600_000;
/** Finished jobs are removed, as Parkway removes its finished wake-up jobs. */
const JOB_OPTS = { removeOnComplete: true, removeOnFail: true } as const;

/** BullMQ flows on Redis with bench worker processes. */
export async function bullmqEngine(config: BenchConfig, redis: RedisConnection): Promise<Engine> {
  const notes = [
    "FlowProducer flows, children before parent; removeOnComplete",
    "signal-driven: a delayed job promoted by the signal (BullMQ has no signals)",
  ];
  if (config.redisCluster)
    notes.push("on a Redis Cluster a queue is one hash tag ({bench-bull-…}): one slot, so one master does all its work");
  return {
    name: "bullmq",
    share: 1,
    onRedis: true,
    notes,
    open: (options) => openSession(config, redis, options),
    dispose: async () => undefined,
  };
}

async function openSession(config: BenchConfig, redis: RedisConnection, options: SessionOptions): Promise<EngineSession> {
  const tag = `bench-bull-${randomBytes(5).toString("hex")}`;
  const prefix = `{${tag}}`;
  const { redis: connection } = openConnection(config.redisUrl, "bench: bullmq", { maxRetriesPerRequest: null });
  const queue = new Queue<StepJob>(QUEUE, { connection, prefix });
  const flows = new FlowProducer({ connection, prefix });
  const parkedJobs = new Map<string, Job<StepJob>>();
  let workers: WorkerProcess[] = [];
  const { shape } = options;
  return {
    start: async (run) => {
      if (shape.kind === "linear" || shape.kind === "fanout") {
        await addFlow(flows, flowOf(shape, run));
      } else if (shape.kind === "signal") {
        parkedJobs.set(run, await queue.add("after", { run, mark: "resumed", root: true }, { ...JOB_OPTS, delay: PARKED_MS }));
      } else {
        options.events.add("armed", run, now());
        await queue.add("woke", { run, mark: "resumed", root: true }, { ...JOB_OPTS, delay: shape.delayMs });
      }
    },
    startWorkers: async () => {
      workers = await spawnWorkers(options.workers, () =>
        spawnWorker(WORKER, [config.redisUrl, prefix, QUEUE, String(options.concurrency)], { events: options.events }),
      );
    },
    signal: async (run) => {
      const job = parkedJobs.get(run);
      if (!job) throw new Error(`no parked job for run ${run}`);
      parkedJobs.delete(run);
      await job.promote();
    },
    parked: () => queue.getDelayedCount(),
    workerPids: () => workers.map((w) => w.pid),
    close: async () => {
      await Promise.all(workers.map((w) => w.stop()));
      await flows.close();
      await queue.close();
      await closeConnection(connection);
      await dropNamespace(redis, tag);
    },
  };
}

/**
 * Adds a flow, again if a script was missing. A flow is one MULTI of EVALSHAs, which ioredis
 * cannot re-send as EVAL when another client of a shared Redis ran SCRIPT FLUSH (the store's
 * tests do); it loads the scripts again on the next call.
 */
async function addFlow(flows: FlowProducer, flow: FlowJob): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await flows.add(flow);
      return;
    } catch (error) {
      if (attempt >= 3 || !(error instanceof Error) || !error.message.includes("NOSCRIPT")) throw error;
    }
  }
}

/** The flow of one run: a chain of nested children, or one parent over many. */
function flowOf(shape: Extract<Shape, { kind: "linear" | "fanout" }>, run: string): FlowJob {
  if (shape.kind === "fanout") {
    return {
      name: "join",
      queueName: QUEUE,
      data: { run, root: true },
      opts: JOB_OPTS,
      children: Array.from({ length: shape.branches }, (_, i) => ({
        name: `b${i}`,
        queueName: QUEUE,
        data: { run, mark: "first" },
        opts: JOB_OPTS,
      })),
    };
  }
  const work = shape.workMs ? { workMs: shape.workMs } : {};
  let job: FlowJob = { name: "s1", queueName: QUEUE, data: { run, mark: "first", root: shape.steps === 1, ...work }, opts: JOB_OPTS };
  for (let i = 2; i <= shape.steps; i++) {
    job = { name: `s${i}`, queueName: QUEUE, data: { run, root: i === shape.steps, ...work }, opts: JOB_OPTS, children: [job] };
  }
  return job;
}
