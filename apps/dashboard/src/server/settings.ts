/**
 * The dashboard's command line: flags first, then the environment. The tokens
 * are read from the environment only, because flags show up in `ps`.
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { ValidationError } from "@parkway/core";

/** What the dashboard process runs with. */
export interface DashboardSettings {
  /** Redis URL; null runs the embedded demo engine. */
  readonly redis: string | null;
  /** Module exporting workflow definitions, to draw runs as trees: an absolute path (see `userDirectory`). */
  readonly workflowsModule: string | null;
  readonly namespace: string;
  /** The namespace's partition count (1 to 128). */
  readonly partitions: number;
  readonly host: string;
  readonly port: number;
  /** Actions need this bearer token when set. */
  readonly token: string | null;
  /** Reads (lists, runs, live streams) need this token when set; the action token is accepted for reads too. */
  readonly readToken: string | null;
}

/** The `--help` text. */
export const USAGE = `usage: parkway-dashboard [--redis <url>] [--workflows <module>] [--namespace <ns>] [--partitions <n>] [--host <addr>] [--port <n>]

  --redis       Redis URL, or a Redis Cluster's nodes as comma-separated URLs (env REDIS_URL);
                without one, an embedded demo engine with a few runs
  --workflows   module exporting your built workflows, so runs are drawn as trees (env PARKWAY_WORKFLOWS)
  --namespace   key namespace on Redis (env PARKWAY_NAMESPACE, default parkway)
  --partitions  the namespace's partition count, 1 to 128 (env PARKWAY_PARTITIONS, default 1)
  --host        address to bind (env PARKWAY_DASHBOARD_HOST, default 127.0.0.1: this machine only)
  --port        port to listen on (env PARKWAY_DASHBOARD_PORT, default 4400; 0 picks a free one)

  PARKWAY_DASHBOARD_TOKEN        when set, signal, cancel, pause and resume need this token
  PARKWAY_DASHBOARD_READ_TOKEN   when set, reading runs (lists, runs, live streams) needs this token or the one above`;

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
      help: { type: "boolean" },
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
    workflowsModule: workflows ? resolve(userDirectory(env), workflows) : null,
    namespace: values.namespace ?? env.PARKWAY_NAMESPACE ?? "parkway",
    partitions,
    host,
    port,
    token: env.PARKWAY_DASHBOARD_TOKEN || null,
    readToken: env.PARKWAY_DASHBOARD_READ_TOKEN || null,
  };
}

/**
 * The directory a relative `--workflows` path names a file in: the one the user ran the command from. Run by
 * its package's npm script (`npm run dashboard` in this repository), the process starts in the package's own
 * directory and npm passes the user's as INIT_CWD; run any other way, that is the working directory.
 */
function userDirectory(env: NodeJS.ProcessEnv): string {
  return env.npm_package_name === "@parkway/dashboard" && env.INIT_CWD ? env.INIT_CWD : process.cwd();
}
