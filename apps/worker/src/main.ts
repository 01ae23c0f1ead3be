#!/usr/bin/env node
import { isParkwayError } from "@parkway/core";
import { readSettings, runWorker, USAGE, wantsHelp } from "./run.js";

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
