#!/usr/bin/env node
/**
 * `npm run dashboard`: the dashboard of this repository. With a Redis URL (REDIS_URL or --redis) it is
 * `parkway-dashboard` as published; without one, it serves the demo's workflows on an embedded engine with
 * a few seeded runs and a schedule, so the dashboard shows something at once with no service running.
 */
import { isParkwayError } from "@parkway/core";
import { readSettings, runDashboard, USAGE, wantsHelp } from "@parkway/dashboard";
import { demoWorkflows, restockWorkflow, startDemoEngine } from "./embedded.js";

const argv = process.argv.slice(2);
if (wantsHelp(argv)) {
  process.stdout.write(`${USAGE}\n\n  Without a Redis URL, npm run dashboard serves an embedded engine with the demo's runs.\n`);
  process.exit(0);
}
try {
  const settings = readSettings(argv, process.env);
  if (settings.redis) {
    await runDashboard(settings);
  } else {
    const engine = await startDemoEngine();
    // A schedule, so the schedules page has one to show: a restock every night at 3.
    await engine.schedules.create("nightly-restock", restockWorkflow, {
      cron: "0 3 * * *",
      input: { sku: "oak-shelf", supplier: "local", polls: 0 },
    });
    await runDashboard(settings, {
      client: engine,
      workflows: demoWorkflows,
      description: "the embedded demo engine (set REDIS_URL for Redis)",
    });
  }
} catch (error) {
  console.error(isParkwayError(error) || error instanceof TypeError ? error.message : error);
  process.exit(2);
}
