#!/usr/bin/env node
/**
 * `npm run bench`: runs the suite, prints the table, writes the JSON report.
 * Exits 1 when a scenario failed (the report still lists what did run).
 */
import { readConfig } from "./config.js";
import { renderReport, writeReport } from "./report.js";
import { runSuite } from "./suite.js";

// Deprecation notices from third-party clients (pg, under DBOS) are not ours to act on and would
// break into the progress line.
process.noDeprecation = true;

let config;
try {
  config = readConfig(process.argv.slice(2), process.env);
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(2);
}

const report = await runSuite(config);
console.log(`\n${renderReport(report)}\n`);
const path = await writeReport(report, config.out);
console.log(`report: ${path}`);
process.exit(report.failures.length > 0 ? 1 : 0);
