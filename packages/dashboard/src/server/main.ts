#!/usr/bin/env node
/** The `parkway-dashboard` executable: the dashboard of a Redis namespace, with flags and environment. */
import { isParkwayError } from "@parkway/core";
import { runDashboard } from "./run.js";
import { readSettings, USAGE, wantsHelp } from "./settings.js";

const argv = process.argv.slice(2);
if (wantsHelp(argv)) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
try {
  await runDashboard(readSettings(argv, process.env));
} catch (error) {
  console.error(isParkwayError(error) || error instanceof TypeError ? error.message : error);
  process.exit(2);
}
