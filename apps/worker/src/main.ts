#!/usr/bin/env node
/** The `parkway-worker` process of this repository and its image: `@parkway/worker` run with flags and environment. */
import { isParkwayError } from "@parkway/core";
import { readSettings, runWorker } from "@parkway/worker";

try {
  await runWorker(readSettings(process.argv.slice(2), process.env));
} catch (error) {
  console.error(isParkwayError(error) || error instanceof TypeError ? error.message : error);
  process.exit(2);
}
