#!/usr/bin/env node
/** The `parkway-worker` process of this repository and its image: `@parkway/worker` run with flags and environment. */
import { isParkwayError } from "@parkway/core";
import { readSettings, runWorker, USAGE, wantsHelp } from "@parkway/worker";

const argv = process.argv.slice(2);
if (wantsHelp(argv)) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
try {
  await runWorker(readSettings(argv, process.env));
} catch (error) {
  console.error(isParkwayError(error) || error instanceof TypeError ? error.message : error);
  process.exit(2);
}
