/**
 * The harness runs end to end: a tiny configuration through the real CLI
 * (compiled, as `npm run bench` runs it) produces a report, on the test
 * Redis and on a Redis Cluster the bench starts itself. Benchmarks are not
 * tests: nothing here asserts how fast anything was.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BenchReport } from "../src/suite.js";

const MAIN = fileURLToPath(new URL("../dist/main.js", import.meta.url));

const run = async (dir: string, ...flags: string[]) => {
  expect(existsSync(MAIN), "bench/dist/main.js is missing: run `npm run build` first").toBe(true);
  const out = join(dir, `report-${flags.join("").replace(/\W/g, "")}.json`);
  const { stdout } = await promisify(execFile)(process.execPath, [MAIN, "--smoke", ...flags, "--out", out], { timeout: 170_000 });
  expect(stdout).toContain("scenario");
  expect(stdout).toContain(`report: ${out}`);
  return JSON.parse(await readFile(out, "utf8")) as BenchReport;
};

describe("bench harness", () => {
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "parkway-bench-"));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("runs a tiny configuration of every scenario on a namespace of two partitions and writes a JSON report", async () => {
    const report = await run(dir, "--partitions", "2");

    expect(report.failures).toEqual([]);
    expect(report.config.partitions).toBe(2);
    const scenarios = new Set(report.results.map((r) => r.scenario));
    expect([...scenarios]).toEqual(
      expect.arrayContaining([
        "linear-4",
        "work-4",
        "fanout-10",
        "signal-driven",
        "sleeping",
        "scale linear-4 ×1",
        "scale linear-4 ×2",
        "scale work-4 ×1",
        "scale work-4 ×2",
        "flow-control none",
        "flow-control run 2/key",
        "flow-control task 2/key",
      ]),
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
    expect(report.scale.map((c) => `${c.shape} ${c.engine} ${c.points.map((p) => p.workers).join(",")}`).sort()).toEqual([
      "linear-4 bullmq 1,2",
      "linear-4 parkway 1,2",
      "work-4 bullmq 1,2",
      "work-4 parkway 1,2",
    ]);
    // Flow control runs on Parkway alone; each limit is set against the unlimited drain.
    expect(report.results.filter((r) => r.scenario.startsWith("flow-control")).map((r) => r.engine)).toEqual(Array(4).fill("parkway"));
    expect(report.flowControl.map((f) => [f.scenario, f.admissionsPerRun])).toEqual([
      ["flow-control none", 0],
      ["flow-control run never full", 1],
      ["flow-control run 2/key", 1],
      ["flow-control task 2/key", 4],
    ]);
    for (const f of report.flowControl.slice(1)) expect(f.commandsPerAdmission, f.scenario).not.toBeNull();
  });

  it("runs on a private Redis Cluster of three masters it starts and removes", async () => {
    const report = await run(dir, "--redis-cluster", "local:3", "--partitions", "3", "--scenarios", "linear", "--scale", "1");

    expect(report.failures).toEqual([]);
    expect(report.machine.redisSetup).toMatch(/Redis Cluster of 3 masters, private/);
    expect(report.config.redisUrl.split(",")).toHaveLength(3);
    expect(report.results.map((r) => `${r.scenario} ${r.engine}`).sort()).toEqual([
      "linear-4 bullmq",
      "linear-4 parkway",
      "scale linear-4 ×1 bullmq",
      "scale linear-4 ×1 parkway",
    ]);
    for (const result of report.results) expect(result.workflowsPerSec, `${result.scenario} on ${result.engine}`).toBeGreaterThan(0);
    // The cluster is gone: nothing answers on its ports.
    const [host, port] = report.config.redisUrl.split(",")[0]!.replace("redis://", "").split(":");
    const probe = new Redis(Number(port), host!, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    probe.on("error", () => undefined);
    await expect(probe.connect()).rejects.toThrow();
    probe.disconnect();
  });
});
