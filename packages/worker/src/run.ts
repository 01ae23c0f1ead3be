/**
 * Runs a `WorkflowWorker` as a process: loads the workflows a module exports,
 * connects to Redis, and on SIGTERM or SIGINT stops taking work, lets the
 * steps in flight finish (aborting them after the shutdown grace) and releases
 * each run at that step boundary for another worker before exiting.
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { startHealthServer, WorkflowWorker } from "@parkway/bullmq";
import { durationInRange, ValidationError, type Logger, type Workflow } from "@parkway/core";
import { pino } from "pino";

export interface WorkerSettings {
  readonly redis: string;
  readonly workflowsModule: string;
  readonly concurrency: number;
  readonly namespace: string;
  /** The namespace's partition count (1 to 128). */
  readonly partitions: number;
  readonly leaseMs: number | undefined;
  readonly sweepIntervalMs: number | undefined;
  readonly blockedRetryMs: number | undefined;
  /** Port of the `/healthz` and `/readyz` endpoints; none when undefined. */
  readonly healthPort: number | undefined;
  readonly shutdownGraceMs: number | undefined;
}

export const USAGE = `usage: parkway-worker --workflows <module> [--redis <url>] [--concurrency <n>] [--namespace <ns>] [--partitions <n>] [--lease <duration>] [--shutdown-grace <duration>] [--health-port <port>]

  --workflows      module exporting built workflows (env PARKWAY_WORKFLOWS)
  --redis          Redis URL, or a Redis Cluster's nodes as a comma-separated list of URLs
                   (redis://10.0.0.1:7000,redis://10.0.0.2:7000) (env REDIS_URL, default redis://127.0.0.1:6379)
  --concurrency    runs advanced at once, 1 to 10000 (env PARKWAY_CONCURRENCY, default 10)
  --namespace      key namespace (env PARKWAY_NAMESPACE, default parkway)
  --partitions     the namespace's partition count, 1 to 128, fixed when it is first used (env PARKWAY_PARTITIONS, default 1)
  --lease          how long a silent worker keeps its runs, 50ms to 1d (env PARKWAY_LEASE, default 30s)
  --sweep          how often overdue runs are re-enqueued, 100ms to 1h (env PARKWAY_SWEEP, default 1s)
  --blocked-retry  how soon a run parked for a definition this worker lacks is tried again, 10ms to 1d
                   (env PARKWAY_BLOCKED_RETRY, default 1m)
  --shutdown-grace on SIGTERM, how long steps in flight may finish before they are aborted, 0 to 1h
                   (env PARKWAY_SHUTDOWN_GRACE, default 30s)`;

/** The range of each duration flag: the same as the WorkflowWorker option it sets. */
const DURATION_FLAGS = {
  "--lease": { min: 50, max: 86_400_000 },
  "--sweep": { min: 100, max: 3_600_000 },
  "--blocked-retry": { min: 10, max: 86_400_000 },
  "--shutdown-grace": { min: 0, max: 3_600_000 },
} as const;

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
      partitions: { type: "string" },
      lease: { type: "string" },
      sweep: { type: "string" },
      "blocked-retry": { type: "string" },
      "health-port": { type: "string" },
      "shutdown-grace": { type: "string" },
      help: { type: "boolean" },
    },
    strict: true,
  });
  if (values.help) throw new ValidationError(USAGE);
  const workflowsModule = values.workflows ?? env.PARKWAY_WORKFLOWS;
  if (!workflowsModule) throw new ValidationError(`--workflows is required: the module that exports your workflows\n\n${USAGE}`);
  const concurrencyText = values.concurrency ?? env.PARKWAY_CONCURRENCY ?? "10";
  const concurrency = Number(concurrencyText);
  if (!/^\d+$/.test(concurrencyText) || concurrency < 1 || concurrency > 10_000) {
    throw new ValidationError(`--concurrency must be an integer between 1 and 10000, got "${concurrencyText}"`);
  }
  return {
    redis: values.redis ?? env.REDIS_URL ?? "redis://127.0.0.1:6379",
    workflowsModule,
    concurrency,
    namespace: values.namespace ?? env.PARKWAY_NAMESPACE ?? "parkway",
    partitions: integerFlag(values.partitions ?? env.PARKWAY_PARTITIONS ?? "1", "--partitions", 1, 128),
    leaseMs: optionalMs(values.lease ?? env.PARKWAY_LEASE, "--lease"),
    sweepIntervalMs: optionalMs(values.sweep ?? env.PARKWAY_SWEEP, "--sweep"),
    blockedRetryMs: optionalMs(values["blocked-retry"] ?? env.PARKWAY_BLOCKED_RETRY, "--blocked-retry"),
    shutdownGraceMs: optionalMs(values["shutdown-grace"] ?? env.PARKWAY_SHUTDOWN_GRACE, "--shutdown-grace"),
    healthPort: optionalPort(values["health-port"] ?? env.PARKWAY_HEALTH_PORT, "--health-port"),
  };
}

function integerFlag(value: string, flag: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max)
    throw new ValidationError(`${flag} must be an integer from ${min} to ${max}, got "${value}"`);
  return n;
}

function optionalPort(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535) throw new ValidationError(`${flag} must be a port number from 0 to 65535, got "${value}"`);
  return port;
}

function optionalMs(value: string | undefined, flag: keyof typeof DURATION_FLAGS): number | undefined {
  if (value === undefined) return undefined;
  const { min, max } = DURATION_FLAGS[flag];
  return durationInRange(/^\d+$/.test(value) ? Number(value) : value, flag, 0, min, max);
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
    partitions: settings.partitions,
    logger,
    ...(settings.leaseMs === undefined ? {} : { lease: settings.leaseMs }),
    ...(settings.sweepIntervalMs === undefined ? {} : { sweepInterval: settings.sweepIntervalMs }),
    ...(settings.blockedRetryMs === undefined ? {} : { blockedRetry: settings.blockedRetryMs }),
    ...(settings.shutdownGraceMs === undefined ? {} : { shutdownGrace: settings.shutdownGraceMs }),
  });
  // Health first: /healthz answers, and /readyz says why not, while the worker waits for Redis.
  const health = settings.healthPort === undefined ? null : await startHealthServer(worker, { port: settings.healthPort });
  if (health) logger.info({ port: health.port }, `health endpoints on port ${health.port}: GET /healthz, GET /readyz`);
  // Signals before start: a SIGTERM while Redis is still unreachable stops the worker too.
  const stopping = stopOnSignals(worker, logger, async () => {
    await health?.close();
    logger.info("stopped");
  });
  await worker.start();
  if (stopping.requested) return worker;
  const names = workflows.map((w) => w.name);
  logger.info(
    {
      pid: process.pid,
      workflows: names,
      namespace: settings.namespace,
      partitions: settings.partitions,
      concurrency: settings.concurrency,
      redis: redactUrl(settings.redis),
    },
    `worker started: ${names.join(", ")} on namespace ${settings.namespace}, concurrency ${settings.concurrency}`,
  );
  return worker;
}

/** The URL without its password, for logs. */
function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@,]*):[^@/,]*@/g, "//$1:***@");
}

/**
 * On the first SIGTERM or SIGINT, closes the worker (no new runs; steps in
 * flight finish or are aborted after the shutdown grace; each run is released
 * at that boundary), then `afterClose`, and exits 0, or 1 when closing failed.
 * A second signal exits at once: the runs still held are resumed elsewhere
 * when their leases lapse.
 */
export function stopOnSignals(
  worker: Pick<WorkflowWorker, "close">,
  logger: Logger,
  afterClose: () => Promise<void> = async () => undefined,
  exit: (code: number) => void = (code) => process.exit(code),
): { readonly requested: boolean } {
  const state = { requested: false };
  const stop = (signal: string) => {
    if (state.requested) {
      logger.warn({ signal }, `${signal} again: exiting now; runs still held resume elsewhere when their leases lapse`);
      return exit(1);
    }
    state.requested = true;
    logger.info({ signal }, `${signal}: releasing runs at their next step boundary`);
    worker
      .close()
      .then(afterClose)
      .then(() => exit(0))
      .catch((error: unknown) => {
        logger.error({ err: error }, `stopping failed: ${(error as Error)?.message ?? String(error)}`);
        exit(1);
      });
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  return state;
}
