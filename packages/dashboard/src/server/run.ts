/**
 * The dashboard as a process: what `parkway-dashboard` runs, and what a
 * program embedding its own engine (the repository's demo) calls with that
 * engine as the client. Prints where it listens, warns about what is missing
 * or exposed, and stops cleanly on SIGINT and SIGTERM.
 */
import { existsSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ParkwayClient } from "@parkway/bullmq";
import { checkOptions, optionNames, ValidationError, type DurableClient, type Workflow } from "@parkway/core";
import { loadWorkflows } from "@parkway/worker";
import { isLoopback } from "./guard.js";
import { startDashboard, type RunningDashboard } from "./serve.js";
import type { DashboardSettings } from "./settings.js";

export interface RunDashboardOptions {
  /**
   * The client to serve instead of a `ParkwayClient` on `settings.redis`: an embedded engine, say (the
   * dashboard then calls itself embedded). Closed when the process stops.
   */
  readonly client?: DurableClient;
  /** Definitions to draw runs with, besides those `settings.workflowsModule` exports. */
  readonly workflows?: readonly Workflow<never, unknown>[];
  /** What the start line says `client` is (default "an embedded engine"). */
  readonly description?: string;
}

const OPTIONS = optionNames<RunDashboardOptions>({ client: true, workflows: true, description: true });

/** What `parkway-dashboard` says when it is given no Redis to read runs from. */
export const NEEDS_REDIS =
  "parkway-dashboard needs the Redis your workers use: set REDIS_URL or pass --redis <url> (e.g. redis://127.0.0.1:6379)";

/**
 * Serves the dashboard on Redis (`settings.redis`, in `settings.namespace`), or on `options.client`, with the
 * front end `npm run build` made, until SIGINT or SIGTERM closes the dashboard and then the client, and exits.
 *
 * @throws ValidationError when there is neither a Redis URL nor a client, or for an unknown option; the error
 * of loading `settings.workflowsModule`; the listen error (a port in use)
 */
export async function runDashboard(settings: DashboardSettings, options: RunDashboardOptions = {}): Promise<RunningDashboard> {
  checkOptions("runDashboard", options, OPTIONS);
  // By shape, not `instanceof`: the client may come from the other module system's copy of @parkway/core.
  if (options.client !== undefined && typeof (options.client as Partial<DurableClient> | null)?.list !== "function") {
    throw new ValidationError("runDashboard: client must be a DurableClient (a ParkwayClient or an embedded engine)");
  }
  if (!settings.redis && !options.client) throw new ValidationError(NEEDS_REDIS);
  const loaded = settings.workflowsModule ? await loadWorkflows(settings.workflowsModule) : [];
  const workflows = [...(options.workflows ?? []), ...loaded];
  const embedded = options.client !== undefined;
  // Given the definitions, the client can rewind runs (a rewind needs the run's definition) and checks signal names itself.
  const client =
    options.client ??
    new ParkwayClient({ connection: settings.redis!, namespace: settings.namespace, partitions: settings.partitions, workflows });
  const webRoot = builtFrontEnd();
  let dashboard: RunningDashboard;
  try {
    dashboard = await startDashboard({
      client,
      workflows,
      engine: embedded ? "embedded" : "redis",
      namespace: embedded ? null : settings.namespace,
      token: settings.token,
      readToken: settings.readToken,
      webRoot,
      host: settings.host,
      port: settings.port,
    });
  } catch (error) {
    await client.close();
    throw error;
  }

  const where = embedded ? (options.description ?? "an embedded engine") : `Redis, namespace "${settings.namespace}"`;
  console.log(`parkway-dashboard ${process.pid}: ${dashboard.url} on ${where}`);
  if (!webRoot) console.error("parkway-dashboard: no built front end beside this build; serving the API only (run npm run build)");
  if (workflows.length === 0)
    console.error("parkway-dashboard: no --workflows given: runs are shown as lists of committed steps, not trees");
  if (!isLoopback(settings.host) && !settings.token) {
    console.error(
      `parkway-dashboard: listening on ${settings.host} without PARKWAY_DASHBOARD_TOKEN: anyone who can reach it can act on runs`,
    );
  }
  if (!isLoopback(settings.host) && !settings.readToken) {
    console.error(
      `parkway-dashboard: listening on ${settings.host} without PARKWAY_DASHBOARD_READ_TOKEN: anyone who can reach it can read runs`,
    );
  }

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    dashboard
      .close()
      .then(() => client.close())
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        console.error(error);
        process.exit(1);
      });
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  return dashboard;
}

/**
 * The front end `vite build` writes to dist/web: beside dist/server in the ES module build, two levels up from
 * dist/cjs/server in the CommonJS one. Null when run from the sources, or when it was not built.
 */
function builtFrontEnd(): string | null {
  const server = dirname(fileURLToPath(import.meta.url));
  const above = dirname(server);
  const dist = basename(above) === "cjs" ? dirname(above) : above;
  const web = join(dist, "web");
  return basename(dist) === "dist" && existsSync(join(web, "index.html")) ? web : null;
}
