/**
 * The dashboard's command line: flags first, then the environment. The tokens
 * are read from the environment only, because flags show up in `ps`.
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { ValidationError } from "@parkway/core";

/** What the dashboard process runs with. */
export interface DashboardSettings {
  /** Redis URL; null when none was given (`runDashboard` then needs a client of its own). */
  readonly redis: string | null;
  /** Module exporting workflow definitions, to draw runs as trees: an absolute path, a relative one resolved from the working directory. */
  readonly workflowsModule: string | null;
  readonly namespace: string;
  /** The namespace's partition count (1 to 128). */
  readonly partitions: number;
  readonly host: string;
  readonly port: number;
  /** Actions need this bearer token when set. */
  readonly token: string | null;
  /** Reads (runs, workers, schedules, live streams) need this token when set; the action token is accepted for reads too. */
  readonly readToken: string | null;
}

/** The `--help` text. */
export const USAGE = `usage: parkway-dashboard --redis <url> [--workflows <module>] [--namespace <ns>] [--partitions <n>] [--host <addr>] [--port <n>]

  --redis       Redis URL, or a Redis Cluster's nodes as comma-separated URLs (env REDIS_URL; required)
  --workflows   module exporting your built workflows, so runs are drawn as trees (env PARKWAY_WORKFLOWS)
  --namespace   key namespace on Redis (env PARKWAY_NAMESPACE, default parkway)
  --partitions  the namespace's partition count, 1 to 128 (env PARKWAY_PARTITIONS, default 1)
  --host        address to bind (env PARKWAY_DASHBOARD_HOST, default 127.0.0.1: this machine only)
  --port        port to listen on (env PARKWAY_DASHBOARD_PORT, default 4400; 0 picks a free one)

  PARKWAY_DASHBOARD_TOKEN        when set, every action (on a run: signal, cancel, pause, resume, retry, rewind, delete;
                                 on a schedule: pause, resume, trigger) needs this token
  PARKWAY_DASHBOARD_READ_TOKEN   when set, reading (runs, workers, schedules, live streams) needs this token or the one above`;

/** True when the arguments ask for the usage (which is then printed, and the process exits 0). */
export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes("--help") || argv.includes("-h");
}

/** Reads flags, then the environment. @throws ValidationError naming the bad flag (or holding the usage for --help) */
export function readSettings(argv: readonly string[], env: NodeJS.ProcessEnv): DashboardSettings {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      redis: { type: "string" },
      workflows: { type: "string" },
      namespace: { type: "string" },
      partitions: { type: "string" },
      host: { type: "string" },
      port: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) throw new ValidationError(USAGE);
  const portText = values.port ?? env.PARKWAY_DASHBOARD_PORT ?? "4400";
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65_535)
    throw new ValidationError(`--port must be a port number from 0 to 65535, got "${portText}"`);
  const partitionsText = values.partitions ?? env.PARKWAY_PARTITIONS ?? "1";
  const partitions = Number(partitionsText);
  if (!/^\d+$/.test(partitionsText) || partitions < 1 || partitions > 128)
    throw new ValidationError(`--partitions must be an integer from 1 to 128, got "${partitionsText}"`);
  const host = values.host ?? env.PARKWAY_DASHBOARD_HOST ?? "127.0.0.1";
  if (host === "") throw new ValidationError("--host must not be empty");
  const workflows = values.workflows ?? env.PARKWAY_WORKFLOWS;
  return {
    redis: values.redis ?? (env.REDIS_URL || null),
    workflowsModule: workflows ? resolve(workflows) : null,
    namespace: values.namespace ?? env.PARKWAY_NAMESPACE ?? "parkway",
    partitions,
    host,
    port,
    token: env.PARKWAY_DASHBOARD_TOKEN || null,
    readToken: env.PARKWAY_DASHBOARD_READ_TOKEN || null,
  };
}
