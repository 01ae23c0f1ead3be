/**
 * The harness runs end to end: a tiny configuration through the real CLI
 * (compiled, as `npm run bench` runs it) produces a report. Benchmarks are
 * not tests: nothing here asserts how fast anything was.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import type { BenchReport } from "../src/suite.js";

const MAIN = fileURLToPath(new URL("../dist/main.js", import.meta.url));

describe("bench harness", () => {
  let dir = "";
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("runs a tiny configuration of every scenario and writes a JSON report", async () => {
    expect(existsSync(MAIN), "bench/dist/main.js is missing: run `npm run build` first").toBe(true);
    dir = await mkdtemp(join(tmpdir(), "parkway-bench-"));
    const out = join(dir, "report.json");
    const { stdout } = await promisify(execFile)(process.execPath, [MAIN, "--smoke", "--out", out], { timeout: 170_000 });

    expect(stdout).toContain("scenario");
    expect(stdout).toContain(`report: ${out}`);
    const report = JSON.parse(await readFile(out, "utf8")) as BenchReport;
    expect(report.failures).toEqual([]);
    const scenarios = new Set(report.results.map((r) => r.scenario));
    expect([...scenarios]).toEqual(
      expect.arrayContaining(["linear-4", "work-4", "fanout-10", "signal-driven", "sleeping", "scale linear-4 ×1", "scale linear-4 ×2"]),
    );
    for (const result of report.results) {
      expect(result.runs, `${result.scenario} on ${result.engine}`).toBeGreaterThan(0);
      expect(result.workflowsPerSec, `${result.scenario} on ${result.engine}`).toBeGreaterThan(0);
    }
    expect(new Set(report.results.map((r) => r.engine))).toEqual(new Set(["parkway", "bullmq"]));
    expect(report.results.find((r) => r.scenario === "signal-driven" && r.engine === "parkway")?.signalToStep?.n).toBe(10);
    expect(report.results.find((r) => r.scenario === "sleeping" && r.engine === "parkway")?.wakeLateness?.n).toBe(10);
    expect(report.executors.map((e) => e.executor)).toEqual(["runSync", "runAsync"]);
    expect(report.ratios.length).toBeGreaterThan(0);
  });
});
