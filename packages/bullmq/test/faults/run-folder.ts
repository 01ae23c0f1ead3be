/**
 * The folder of a fault test (the workers' logs, the ledger, Redis's files)
 * and the processes the test starts: stopped once the test file is done, and
 * killed at once if its process exits early. The folder is removed, unless a
 * violation was found (or FAULT_KEEP_LOGS is set): then its path is printed.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";

/** Processes a fault test started: a fleet of workers, a redis-server, a Cluster. */
export interface Started {
  stop(): Promise<void>;
  killNow(): void;
}

export interface RunFolder {
  readonly dir: string;
  /** Stops `started` after the test file (the last tracked first), and kills it if the process exits first. */
  track(...started: Started[]): void;
  /** Prints the line of counts, and the first violations (then the folder is kept, for a look). */
  report(title: string, summary: Readonly<Record<string, number>>, violations: readonly string[]): void;
}

/** A new temporary folder `parkway-<name>-*`, with an `afterAll` that cleans up after the test file. */
export function runFolder(name: string): RunFolder {
  const dir = mkdtempSync(join(tmpdir(), `parkway-${name}-`));
  const tracked: Started[] = [];
  let kept = Boolean(process.env.FAULT_KEEP_LOGS);
  process.once("exit", () => tracked.forEach((s) => s.killNow()));
  afterAll(async () => {
    for (const s of [...tracked].reverse()) await s.stop();
    if (kept) console.log(`${name}: logs and ledger kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  });
  const report = (title: string, summary: Readonly<Record<string, number>>, violations: readonly string[]) => {
    console.log(`${title} counts: ${JSON.stringify(summary)}`);
    if (violations.length === 0) return;
    kept = true;
    console.log(`${title} violations (first 40 of ${violations.length}):\n${violations.slice(0, 40).join("\n")}`);
  };
  return { dir, track: (...started) => void tracked.push(...started), report };
}
