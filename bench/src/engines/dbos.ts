/**
 * The DBOS Transact peer: durable workflows of steps checkpointed in
 * Postgres. The harness enqueues with a `DBOSClient`; worker processes run
 * `DBOS.launch()` listening to the session's queue (DBOS's way to spread
 * workflows over processes). Signals are `send`/`recv`, delays `DBOS.sleep`.
 *
 * DBOS gets a database of its own, dropped when the suite ends. A run's end is
 * read from `workflow_status.completed_at` (Postgres's wall clock, same machine, ms).
 */
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { DBOSClient, type DLogger } from "@dbos-inc/dbos-sdk";
import pg from "pg";
import type { BenchConfig } from "../config.js";
import { fromEpoch } from "../events.js";
import { spawnWorker, spawnWorkers, type WorkerProcess } from "../processes.js";
import { shapeName, type Engine, type EngineSession, type SessionOptions, type Shape } from "./types.js";

const WORKER = fileURLToPath(new URL("./dbos-worker.js", import.meta.url));
const APP = "parkway-bench";
const DONE_POLL_MS = 25;

/** DBOS's client logs every queue it registers; only warnings and errors matter here. */
const QUIET: DLogger = {
  info: () => undefined,
  debug: () => undefined,
  warn: (entry) => console.error("dbos:", entry),
  error: (entry) => console.error("dbos:", entry),
};

/** DBOS on its own Postgres database, with bench worker processes. */
export async function dbosEngine(config: BenchConfig): Promise<Engine> {
  const dbUrl = databaseUrl(config.postgresUrl, config.dbosDatabase);
  await dropDatabase(config);
  // DBOS creates and migrates its database, logging to stdout: done in a child so the table stays clean.
  await promisify(execFile)(process.execPath, [WORKER], { env: { ...process.env, BENCH_DBOS_URL: dbUrl, BENCH_DBOS_MIGRATE: "1" } });
  const client = await DBOSClient.create({ systemDatabaseUrl: dbUrl, applicationName: APP, logger: QUIET });
  const pool = new pg.Pool({ connectionString: dbUrl, max: 2 });
  return {
    name: "dbos",
    share: config.dbosShare,
    onRedis: false,
    notes: [
      `runs ${config.dbosShare * 100}% of every N (--dbos-share) to fit the time budget`,
      `queue polling every ${config.dbosPollMs} ms (DBOS default 1000 ms); workerConcurrency ${config.concurrency} per process`,
      "a sleeping or signal-waiting workflow holds a worker slot: those queues get one slot per parked run",
    ],
    open: (options) => openSession(config, dbUrl, client, pool, options),
    dispose: async () => {
      await client.destroy();
      await pool.end();
      await dropDatabase(config);
    },
  };
}

async function openSession(
  config: BenchConfig,
  dbUrl: string,
  client: DBOSClient,
  pool: pg.Pool,
  options: SessionOptions,
): Promise<EngineSession> {
  const { shape, events } = options;
  const queueName = `q-${shapeName(shape)}-${randomBytes(4).toString("hex")}`;
  // A parked DBOS workflow is a live promise in a worker: give every parked run a slot.
  const perWorker = Math.max(options.concurrency, Math.ceil(options.parked / options.workers));
  await client.registerQueue(queueName, { workerConcurrency: perWorker, minPollingIntervalMs: config.dbosPollMs });
  let workers: WorkerProcess[] = [];
  const stopPolling = pollFinished(pool, options.runPrefix, (id, at) => events.add("done", id, at));
  const [workflowName, args] = invocation(shape);
  return {
    start: async (run) => {
      await client.enqueue({ queueName, workflowName, workflowID: run }, ...args);
    },
    startWorkers: async () => {
      workers = await spawnWorkers(options.workers, () =>
        spawnWorker(WORKER, [], {
          events,
          env: { BENCH_DBOS_URL: dbUrl, BENCH_DBOS_QUEUE: queueName, BENCH_DBOS_APP: APP },
        }),
      );
    },
    signal: (run) => client.send(run, 1, "go"),
    parked: async () => events.count("armed"),
    workerPids: () => workers.map((w) => w.pid),
    close: async () => {
      await Promise.all(workers.map((w) => w.stop()));
      await stopPolling();
      await client.deleteQueue(queueName);
    },
  };
}

/** The registered workflow and its arguments for `shape` (see dbos-worker.ts). */
function invocation(shape: Shape): [string, unknown[]] {
  switch (shape.kind) {
    case "linear":
      return ["linear", [shape.steps, shape.workMs ?? 0]];
    case "fanout":
      return ["fanout", [shape.branches]];
    case "signal":
      return ["signal", []];
    case "sleep":
      return ["sleep", [shape.delayMs]];
  }
}

/**
 * Reports runs whose id starts with `prefix` as they succeed, with the time
 * Postgres recorded. Re-reads a window behind the newest completion seen,
 * since completions commit slightly out of their timestamps' order.
 */
function pollFinished(pool: pg.Pool, prefix: string, onDone: (id: string, at: number) => void): () => Promise<void> {
  const seen = new Set<string>();
  let since = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const { rows } = await pool.query<{ workflow_uuid: string; completed_at: string }>(
        `SELECT workflow_uuid, completed_at FROM dbos.workflow_status
         WHERE status = 'SUCCESS' AND workflow_uuid LIKE $1 AND completed_at >= $2`,
        [`${prefix}%`, since],
      );
      for (const row of rows) {
        const at = Number(row.completed_at);
        since = Math.max(since, at - 2000);
        if (seen.has(row.workflow_uuid)) continue;
        seen.add(row.workflow_uuid);
        onDone(row.workflow_uuid, fromEpoch(at));
      }
      await new Promise((resolve) => setTimeout(resolve, DONE_POLL_MS));
    }
  })();
  return async () => {
    stopped = true;
    await loop;
  };
}

function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

async function dropDatabase(config: BenchConfig): Promise<void> {
  const admin = new pg.Client({ connectionString: databaseUrl(config.postgresUrl, "postgres") });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${config.dbosDatabase.replaceAll('"', '""')}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}
