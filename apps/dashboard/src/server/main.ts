#!/usr/bin/env node
/**
 * The dashboard process: on Redis with REDIS_URL (or --redis), else on an
 * embedded demo engine with seeded runs. Stops cleanly on SIGINT and SIGTERM.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { isParkwayError, type DurableClient, type Workflow } from "@parkway/core";
import { loadWorkflows } from "@parkway/worker";
import { isLoopback } from "./guard.js";
import { startDashboard } from "./serve.js";
import { readSettings } from "./settings.js";

const webRoot = fileURLToPath(new URL("../web", import.meta.url));

try {
  const settings = readSettings(process.argv.slice(2), process.env);
  let workflows: Workflow<never, unknown>[] = settings.workflowsModule ? await loadWorkflows(settings.workflowsModule) : [];
  let client: DurableClient;
  if (settings.redis) {
    const { ParkwayClient } = await import("@parkway/bullmq");
    client = new ParkwayClient({ connection: settings.redis, namespace: settings.namespace, partitions: settings.partitions });
  } else {
    const { startDemoEngine, demoWorkflows } = await import("./demo.js");
    client = await startDemoEngine(workflows);
    workflows = [...demoWorkflows, ...workflows];
  }
  const hasWeb = existsSync(`${webRoot}/index.html`);
  const dashboard = await startDashboard({
    client,
    workflows,
    engine: settings.redis ? "redis" : "embedded",
    namespace: settings.redis ? settings.namespace : null,
    token: settings.token,
    readToken: settings.readToken,
    webRoot: hasWeb ? webRoot : null,
    host: settings.host,
    port: settings.port,
  });
  const where = settings.redis ? `Redis, namespace "${settings.namespace}"` : "the embedded demo engine (set REDIS_URL for Redis)";
  console.log(`parkway-dashboard ${process.pid}: ${dashboard.url} on ${where}`);
  if (!hasWeb) console.error(`parkway-dashboard: no built front end in ${webRoot}; serving the API only (run npm run build)`);
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
} catch (error) {
  console.error(isParkwayError(error) || error instanceof TypeError ? error.message : error);
  process.exit(2);
}
