/**
 * `parkway workers` and the warnings of `parkway status`, against a real Redis
 * and `parkway worker` processes in a namespace of their own.
 */
import type { ChildProcess } from "node:child_process";
import { hostname } from "node:os";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { cliSpace, eventually, FIXTURES, stop } from "./helpers.js";

const space = cliSpace();
const parkway = space.run;
const workers: ChildProcess[] = [];

interface Listed {
  readonly workers: readonly { id: string; pid: number; host: string; workflows: { name: string; hash: string }[] }[];
}

// SIGTERM, so each worker deregisters as it stops: a killed one would stay listed until its registration lapsed.
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => stop(w, "SIGTERM")));
});

afterAll(async () => {
  await space.cleanup();
});

describe("parkway workers", () => {
  it("says plainly when no worker is alive in the namespace", async () => {
    const none = await parkway("workers");
    expect(none.code).toBe(0);
    expect(none.stdout.trim()).toBe(
      `No live worker in namespace ${space.namespace}: runs wait until one starts (is it given --namespace ${space.namespace}?).`,
    );
    const json = await parkway("--json", "workers");
    expect(JSON.parse(json.stdout)).toEqual({ workers: [] });
  });

  it("lists two worker processes as a table and as JSON, and drops one that stopped", async () => {
    workers.push(await space.startWorker(), await space.startWorker());
    const [a, b] = workers;
    const table = await parkway("workers");
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^ID\s+HOST\s+PID\s+CONCURRENCY\s+STARTED\s+HEARTBEAT\s+VERSION\s+WORKFLOWS$/);
    expect(lines).toHaveLength(3);
    for (const pid of [a!.pid, b!.pid]) {
      expect(lines.find((line) => line.includes(` ${pid} `))).toMatch(
        /^[0-9a-f]{12}\s+\S+\s+\d+\s+10 runs, 40 steps\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+(now|\d+s ago)\s+\S+\s+fanout@[0-9a-f]{12}, approval@/,
      );
    }

    const json = await parkway("--json", "workers");
    const doc = JSON.parse(json.stdout) as Listed;
    expect(doc.workers.map((w) => w.pid).sort()).toEqual([a!.pid, b!.pid].sort());
    expect(doc.workers[0]!.host).toBe(hostname());
    expect(doc.workers[0]!.workflows.map((w) => w.name)).toEqual(["fanout", "approval", "doomed", "notes", "flaky", "held"]);

    await stop(a!, "SIGTERM");
    const after = JSON.parse((await parkway("--json", "workers")).stdout) as Listed;
    expect(after.workers.map((w) => w.pid)).toEqual([b!.pid]);
  });

  it("refuses an unknown option and an extra argument (exit 2), as every command does", async () => {
    const option = await parkway("workers", "--all");
    expect(option.code).toBe(2);
    expect(option.stderr).toContain("unknown option '--all'");
    const argument = await parkway("workers", "extra");
    expect(argument.code).toBe(2);
    expect(argument.stderr).toContain("too many arguments");
  });
});

describe("parkway status warns about a run no live worker can advance", () => {
  it("shows a Warning line while no worker registers the run's workflow, and none once one does", async () => {
    expect((await parkway("start", "approval", "--input", "null", "--id", "lonely", "--workflows", FIXTURES)).code).toBe(0);
    const alone = await parkway("status", "lonely");
    expect(alone.code).toBe(0);
    expect(alone.stdout).toMatch(
      /^Warning {4}no live worker registers workflow "approval" \(no worker is alive\): nothing advances this run until one starts$/m,
    );
    const json = JSON.parse((await parkway("--json", "status", "lonely")).stdout) as { run: { warnings: { code: string }[] } };
    expect(json.run.warnings.map((w) => w.code)).toEqual(["NO_WORKER"]);

    workers.push(await space.startWorker());
    await eventually(
      async () => (JSON.parse((await parkway("--json", "status", "lonely")).stdout) as { run: { status: string } }).run.status === "parked",
      "the run to park",
    );
    const served = await parkway("status", "lonely");
    expect(served.stdout).not.toContain("Warning");
    const doc = JSON.parse((await parkway("--json", "status", "lonely")).stdout) as { run: { warnings: unknown[] } };
    expect(doc.run.warnings).toEqual([]);
  });
});
