/**
 * Runs a `WorkflowWorker` as a process: loads the workflows a module exports,
 * connects to Redis, and on SIGTERM or SIGINT stops taking work and lets the
 * runs in flight reach a boundary before exiting.
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { startHealthServer, WorkflowWorker } from "@parkway/bullmq";
import { toMs, ValidationError, type Logger, type Workflow } from "@parkway/core";
import { pino } from "pino";

export interface WorkerSettings {
  readonly redis: string;
  readonly workflowsModule: string;
  readonly concurrency: number;
  readonly namespace: string;
  readonly leaseMs: number | undefined;
  readonly sweepIntervalMs: number | undefined;
  readonly blockedRetryMs: number | undefined;
  /** Port of the `/healthz` and `/readyz` endpoints; none when undefined. */
  readonly healthPort: number | undefined;
}

export const USAGE = `usage: parkway-worker --workflows <module> [--redis <url>] [--concurrency <n>] [--namespace <ns>] [--lease <duration>] [--health-port <port>]

  --workflows     module exporting built workflows (env PARKWAY_WORKFLOWS)
  --redis         Redis URL (env REDIS_URL, default redis://127.0.0.1:6379)
  --concurrency   runs advanced at once (env PARKWAY_CONCURRENCY, default 10)
  --namespace     key namespace (env PARKWAY_NAMESPACE, default parkway)
  --lease         how long a silent worker keeps its runs, e.g. 30s (env PARKWAY_LEASE)
  --sweep         how often overdue runs are re-enqueued, e.g. 1s (env PARKWAY_SWEEP)
  --blocked-retry how soon a run parked for a definition this worker lacks is tried again, e.g. 1m (env PARKWAY_BLOCKED_RETRY)
  --health-port   serve GET /healthz (live) and /readyz (Redis answers, consuming) on this port (env PARKWAY_HEALTH_PORT)
  --help          print this and exit

Logs are JSON lines (pino) on stderr; PARKWAY_LOG_LEVEL sets the level (default info).`;

/** True when the arguments ask for the usage (which is then printed, and the process exits 0). */
export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes("--help") || argv.includes("-h");
}

/** Reads flags, then the environment. @throws ValidationError naming the bad flag */
export function readSettings(argv: readonly string[], env: NodeJS.ProcessEnv): WorkerSettings {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      workflows: { type: "string" },
      redis: { type: "string" },
      concurrency: { type: "string" },
      namespace: { type: "string" },
      lease: { type: "string" },
      sweep: { type: "string" },
      "blocked-retry": { type: "string" },
      "health-port": { type: "string" },
      help: { type: "boolean" },
    },
    strict: true,
  });
  if (values.help) throw new ValidationError(USAGE);
  const workflowsModule = values.workflows ?? env.PARKWAY_WORKFLOWS;
  if (!workflowsModule) throw new ValidationError(`--workflows is required: the module that exports your workflows\n\n${USAGE}`);
  const concurrencyText = values.concurrency ?? env.PARKWAY_CONCURRENCY ?? "10";
  const concurrency = Number(concurrencyText);
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new ValidationError(`--concurrency must be a positive integer, got "${concurrencyText}"`);
  }
  return {
    redis: values.redis ?? env.REDIS_URL ?? "redis://127.0.0.1:6379",
    workflowsModule,
    concurrency,
    namespace: values.namespace ?? env.PARKWAY_NAMESPACE ?? "parkway",
    leaseMs: optionalMs(values.lease ?? env.PARKWAY_LEASE, "--lease"),
    sweepIntervalMs: optionalMs(values.sweep ?? env.PARKWAY_SWEEP, "--sweep"),
    blockedRetryMs: optionalMs(values["blocked-retry"] ?? env.PARKWAY_BLOCKED_RETRY, "--blocked-retry"),
    healthPort: optionalPort(values["health-port"] ?? env.PARKWAY_HEALTH_PORT, "--health-port"),
  };
}

function optionalPort(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535) throw new ValidationError(`${flag} must be a port number from 0 to 65535, got "${value}"`);
  return port;
}

function optionalMs(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  return toMs(/^\d+$/.test(value) ? Number(value) : value, flag);
}

/** Every built workflow a module exports: as `workflows` (an array), as default, or as named exports. */
export async function loadWorkflows(modulePath: string): Promise<Workflow<never, unknown>[]> {
  const mod = (await import(pathToFileURL(resolve(modulePath)).href)) as Record<string, unknown>;
  const candidates = [mod.workflows, mod.default, ...Object.values(mod)].flatMap((v): unknown[] => (Array.isArray(v) ? v : [v]));
  const found = [...new Set(candidates.filter(isWorkflow))];
  if (found.length === 0) throw new ValidationError(`module "${modulePath}" exports no built workflow`);
  return found;
}

function isWorkflow(value: unknown): value is Workflow<never, unknown> {
  return typeof value === "object" && value !== null && (value as { kind?: unknown }).kind === "workflow";
}

/** The worker process's logger: JSON lines on stderr, at PARKWAY_LOG_LEVEL (default info). */
export function processLogger(env: NodeJS.ProcessEnv = process.env): Logger {
  return pino({ name: "parkway-worker", level: env.PARKWAY_LOG_LEVEL ?? "info" }, pino.destination(2));
}

/** Starts a worker (and its health endpoints) and stops it gracefully on SIGTERM/SIGINT. */
export async function runWorker(settings: WorkerSettings, logger: Logger = processLogger()): Promise<WorkflowWorker> {
  const workflows = await loadWorkflows(settings.workflowsModule);
  const worker = new WorkflowWorker({
    connection: settings.redis,
    workflows,
    concurrency: settings.concurrency,
    namespace: settings.namespace,
    logger,
    ...(settings.leaseMs === undefined ? {} : { lease: settings.leaseMs }),
    ...(settings.sweepIntervalMs === undefined ? {} : { sweepInterval: settings.sweepIntervalMs }),
    ...(settings.blockedRetryMs === undefined ? {} : { blockedRetry: settings.blockedRetryMs }),
  });
  // Health first: /healthz answers, and /readyz says why not, while the worker waits for Redis.
  const health = settings.healthPort === undefined ? null : await startHealthServer(worker, { port: settings.healthPort });
  if (health) logger.info({ port: health.port }, `health endpoints on port ${health.port}: GET /healthz, GET /readyz`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, `${signal}: finishing runs in flight`);
    worker
      .close()
      .then(() => health?.close())
      .then(() => {
        logger.info("stopped");
        process.exit(0);
      })
      .catch((error: unknown) => {
        logger.error({ err: error }, `stopping failed: ${(error as Error)?.message ?? String(error)}`);
        process.exit(1);
      });
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  await worker.start();
  if (stopping) return worker;
  const names = workflows.map((w) => w.name);
  logger.info(
    {
      pid: process.pid,
      workflows: names,
      namespace: settings.namespace,
      concurrency: settings.concurrency,
      redis: redactUrl(settings.redis),
    },
    `worker started: ${names.join(", ")} on namespace ${settings.namespace}, concurrency ${settings.concurrency}`,
  );
  return worker;
}

/** The URL without its password, for logs. */
function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]*):[^@/]*@/, "//$1:***@");
}
