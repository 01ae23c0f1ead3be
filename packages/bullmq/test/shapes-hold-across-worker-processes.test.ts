/**
 * Map and race across worker processes on a real Redis. A ledger outside Redis (a file per
 * process, written synchronously, see fixtures/fleet-workflows.mjs) shows which executions ran
 * where, also for a worker killed with SIGKILL in the middle of a map.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ParkwayClient } from "../src/index.js";
import { byStep, readExecutions, type Execution } from "./fleet-ledger.js";
import { eventually, REDIS_URL, startWorker, stopWorker, testSpace } from "./helpers.js";
import { mapped, raced } from "./fixtures/fleet-workflows.mjs";

const FIXTURES = fileURLToPath(new URL("./fixtures/fleet-workflows.mjs", import.meta.url));
const SENDER = fileURLToPath(new URL("./fixtures/signal-sender.mjs", import.meta.url));

const space = testSpace();
const ledgerDir = mkdtempSync(join(tmpdir(), "parkway-shapes-"));
let redis: Redis;
let client: ParkwayClient;
const workers: ChildProcess[] = [];
const senders: ChildProcess[] = [];

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  client = new ParkwayClient({ connection: REDIS_URL, namespace: space.namespace });
  for (let i = 0; i < 3; i++) {
    workers.push(
      await startWorker(space.namespace, space.ledger, ["--workflows", FIXTURES, "--concurrency", "25"], REDIS_URL, {
        PARKWAY_FLEET_LEDGER: ledgerDir,
      }),
    );
  }
});

afterAll(async () => {
  for (const sender of senders) sender.kill("SIGKILL");
  await Promise.all(workers.splice(0).map((w) => stopWorker(w, "SIGKILL")));
  await client.close();
  await space.cleanup(redis);
  await redis.quit();
  rmSync(ledgerDir, { recursive: true, force: true });
});

/** The most executions running at once; one cut short by a SIGKILL counts until `killedAt`. */
function mostAtOnce(executions: readonly Execution[], killedPid: number, killedAt: number): number {
  const events = executions.flatMap((e) => [
    { at: e.startedAt, delta: 1 },
    { at: e.endedAt ?? (e.pid === killedPid ? killedAt : Number.POSITIVE_INFINITY), delta: -1 },
  ]);
  // An end and a start in the same ms count the end first.
  events.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let now = 0;
  let most = 0;
  for (const e of events) most = Math.max(most, (now += e.delta));
  return most;
}

/** A client process that sends `name` to every run of `ids` when told "go", resolved once it is ready. */
async function startSender(name: string, ids: readonly string[]): Promise<{ go(): void; sent: Promise<string> }> {
  const child = spawn(process.execPath, [SENDER, REDIS_URL, space.namespace, name, ids.join(",")], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  senders.push(child);
  let out = "";
  const exited = new Promise<string>((resolve, reject) =>
    child.once("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`sender of "${name}" exited with ${code}: ${out}`)))),
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("ready\n")) resolve();
    });
    exited.catch(reject);
  });
  return { go: () => child.stdin.write("go\n"), sent: exited };
}

describe("shapes across worker processes", () => {
  it("a 1,000-element map with concurrency 20 on three workers, one SIGKILLed mid-way: each element committed once, in order", async () => {
    const id = "map-1000";
    await client.start(mapped, 1000, { id });
    const ofRun = () => readExecutions(ledgerDir).filter((e) => e.run === id);
    // Killed once a third of the elements started: it dies holding the run, with elements in flight.
    const doomedPid = await eventually(async () => {
      const started = ofRun();
      return started.length >= 330 && started[started.length - 1]!.pid;
    }, "a third of the elements started");
    const doomed = workers.find((w) => w.pid === doomedPid)!;
    // Its tasks may start until the signal lands: what it ran is bounded by when it was gone.
    const killedAt = Date.now();
    await stopWorker(doomed, "SIGKILL");
    const goneAt = Date.now();

    const output = await client.result<{ out: number; x: string }[]>(id, { timeout: "60s" });
    expect(output.map((o) => o.out)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    const executions = ofRun();
    const byToken = new Map(executions.map((e) => [e.x, e]));
    // Each committed output is from an execution of its own element.
    expect(output.filter((o, i) => byToken.get(o.x)?.step !== `each[${i}]/work`)).toEqual([]);
    // The killed worker committed elements before it died, the others the rest.
    const committers = new Set(output.map((o) => byToken.get(o.x)!.pid));
    expect(committers.has(doomedPid)).toBe(true);
    expect(committers.size).toBeGreaterThan(1);
    // An element ran again only when the killed worker's execution of it never committed, and
    // then only after the kill.
    const committed = new Set(output.map((o) => o.x));
    const steps = byStep(executions);
    expect(steps.size).toBe(1000);
    const reruns = [...steps.values()]
      .filter((runs) => runs.length > 1)
      .map((runs) => ({
        step: runs[0]!.step,
        lost: runs.filter((e) => !committed.has(e.x)).map((e) => ({ pid: e.pid, beforeKill: e.startedAt <= goneAt })),
        committedAfterKill: runs.some((e) => committed.has(e.x) && e.startedAt >= killedAt),
      }));
    for (const rerun of reruns) {
      expect(rerun).toEqual({ step: rerun.step, lost: [{ pid: doomedPid, beforeKill: true }], committedAfterKill: true });
    }
    expect(mostAtOnce(executions, doomedPid, goneAt)).toBeLessThanOrEqual(20);
  }, 90_000);

  it("a race of two signals sent at the same moment from two processes: one winner per run, the loser's signal stays buffered", async () => {
    const ids = Array.from({ length: 50 }, (_, n) => `race-${n}`);
    await Promise.all(ids.map((id) => client.start(raced, null, { id })));
    // Every run parked on both of its race's waits before either signal is sent.
    await eventually(
      async () => (await Promise.all(ids.map((id) => client.status(id)))).every((v) => v.status === "parked" && v.waitingFor.length === 2),
      "every run parked on its race",
    );
    const [a, b] = await Promise.all([startSender("a", ids), startSender("b", ids)]);
    a.go();
    b.go();
    expect(await Promise.all([a.sent, b.sent])).toEqual(["ready\nsent 50\n", "ready\nsent 50\n"]);

    // A run completes only when its later wait for the losing name got the buffered signal.
    const outputs = await Promise.allSettled(ids.map((id) => client.result<string>(id, { timeout: "15s" })));
    const views = await Promise.all(ids.map((id) => client.status(id)));
    const seen = views.map((view, n) => {
      const pick = view.steps.find((s) => s.key === "pick")?.output as { winner: string; output: string } | undefined;
      const outcome = outputs[n]!;
      return {
        id: view.id,
        status: view.status,
        won: pick !== undefined && pick.output === `${pick.winner}:${view.id}`,
        branchesThatTookASignal: view.steps.filter((s) => /^(a|b)\/got$/.test(s.key)).length,
        loserReceived: outcome.status === "fulfilled" && outcome.value === `${pick?.winner === "a" ? "b" : "a"}:${view.id}`,
      };
    });
    expect(seen).toEqual(ids.map((id) => ({ id, status: "completed", won: true, branchesThatTookASignal: 1, loserReceived: true })));
  }, 90_000);
});
