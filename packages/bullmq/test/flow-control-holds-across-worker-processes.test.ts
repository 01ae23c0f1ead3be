/**
 * Flow control across worker processes on a real Redis: three workers, runs over keys limited to
 * two at once, and a task limited to 20 calls a second. A ledger outside Redis (files written synchronously by each process) shows how
 * many runs of a key executed at once, also when a worker holding slots is killed with SIGKILL.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ChildProcess } from "node:child_process";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ParkwayClient } from "../src/index.js";
import { eventually, REDIS_URL, startWorker, stopWorker, testSpace } from "./helpers.js";
import { limited, rated } from "./fixtures/limited-workflows.mjs";

const FIXTURES = fileURLToPath(new URL("./fixtures/limited-workflows.mjs", import.meta.url));

interface Line {
  readonly event: "start" | "end";
  readonly key: string;
  readonly run: string;
  readonly step: string;
  readonly pid: number;
  readonly at: number;
}

function readLedger(dir: string): Line[] {
  return readdirSync(dir).flatMap((file) =>
    readFileSync(join(dir, file), "utf8")
      .split("\n")
      .filter((line) => line.endsWith("}"))
      .map((line) => JSON.parse(line) as Line),
  );
}

/**
 * The most runs of each key executing at once. A step counts from its start to its end, or to
 * `killedAt` when its process was killed first; an end and a start in the same ms count the end first.
 */
function mostAtOnce(lines: readonly Line[], killed: ReadonlyMap<number, number>): Map<string, number> {
  const events: { key: string; at: number; delta: number }[] = [];
  const starts = new Map<string, Line>();
  for (const line of lines) {
    const id = `${line.pid}|${line.run}|${line.step}`;
    if (line.event === "start") starts.set(id, line);
    else if (starts.delete(id)) events.push({ key: line.key, at: line.at, delta: -1 });
    if (line.event === "start") events.push({ key: line.key, at: line.at, delta: 1 });
  }
  for (const open of starts.values()) events.push({ key: open.key, at: killed.get(open.pid) ?? Number.POSITIVE_INFINITY, delta: -1 });
  events.sort((a, b) => a.at - b.at || a.delta - b.delta);
  const now = new Map<string, number>();
  const most = new Map<string, number>();
  for (const e of events) {
    const n = (now.get(e.key) ?? 0) + e.delta;
    now.set(e.key, n);
    most.set(e.key, Math.max(n, most.get(e.key) ?? 0));
  }
  return most;
}

const space = testSpace();
const ledgerDir = mkdtempSync(join(tmpdir(), "parkway-limits-"));
let redis: Redis;
let client: ParkwayClient;
const workers: ChildProcess[] = [];
const env = { PARKWAY_LIMIT_LEDGER: ledgerDir };
const startLimitedWorker = () =>
  startWorker(space.namespace, space.ledger, ["--workflows", FIXTURES, "--concurrency", "10"], REDIS_URL, env);

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  client = new ParkwayClient({ connection: REDIS_URL, namespace: space.namespace });
});

afterAll(async () => {
  await Promise.all(workers.splice(0).map((w) => stopWorker(w, "SIGKILL")));
  await client.close();
  await space.cleanup(redis);
  await redis.quit();
  rmSync(ledgerDir, { recursive: true, force: true });
});

describe("flow control across worker processes", () => {
  it("a limit of 2 per key is never exceeded by 3 workers, and a SIGKILLed worker's slots come back after its lease", async () => {
    for (let i = 0; i < 3; i++) workers.push(await startLimitedWorker());
    const ids = Array.from({ length: 300 }, (_, n) => `lim-${n}`);
    await Promise.all(ids.map((id, n) => client.start(limited, { key: `k${n % 10}`, n }, { id })));
    const doomed = workers[0]!;
    // Killed while it executes steps, so it dies holding slots.
    await eventually(
      async () => readLedger(ledgerDir).some((l) => l.pid === doomed.pid && l.event === "start") || undefined,
      "the first worker to start a step",
    );
    const killedAt = Date.now();
    await stopWorker(doomed, "SIGKILL");
    const results = await Promise.all(ids.map((id) => client.result(id, { timeout: "90s" })));
    expect(results.map((r) => (r as { n: number }).n)).toEqual(ids.map((_, n) => n));
    const lines = readLedger(ledgerDir);
    const heldWhenKilled = lines.filter((l) => l.pid === doomed.pid && l.event === "start").length;
    expect(heldWhenKilled).toBeGreaterThan(0);
    const most = mostAtOnce(lines, new Map([[doomed.pid!, killedAt]]));
    expect(most.size).toBe(10);
    for (const [key, n] of most) expect({ key, most: n }).toEqual({ key, most: Math.min(n, 2) });
  }, 120_000);

  it("a rate limit of 20 calls a second admits 200 calls in 10 s across 3 workers, give or take one window", async () => {
    // Three live workers (the previous test killed one).
    while (workers.filter((w) => w.exitCode === null && w.signalCode === null).length < 3) workers.push(await startLimitedWorker());
    const calls = () => readLedger(ledgerDir).filter((l) => l.key === "rate" && l.event === "start");
    // More runs than 10 s admit: the limit, not the supply, sets the pace.
    await Promise.all(Array.from({ length: 260 }, (_, n) => client.start(rated, { key: "rate", n }, { id: `rate-${n}` })));
    const first = await eventually(async () => calls()[0]?.at, "the first call");
    await new Promise((resolve) => setTimeout(resolve, first + 10_500 - Date.now()));
    const admitted = calls().filter((l) => l.at < first + 10_000).length;
    expect(admitted).toBeGreaterThanOrEqual(180);
    expect(admitted).toBeLessThanOrEqual(220);
  }, 30_000);
});
