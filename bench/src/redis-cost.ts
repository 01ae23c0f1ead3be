#!/usr/bin/env node
/**
 * `npm run redis-cost -w @parkway/bench`: what a run costs Redis, measured on a
 * private redis-server (no persistence, nothing else on it) so the numbers are
 * Parkway's alone.
 *
 * For each shape it starts N runs through a `ParkwayClient` and lets one
 * in-process `WorkflowWorker` drain them, then reads the server's deltas:
 * CPU (`INFO cpu`: used_cpu_user + used_cpu_sys, every thread of the server),
 * commands (`INFO commandstats`, which counts the commands a script runs as well
 * as its FCALL or EVALSHA) and client calls (a script, a MULTI block, a blocking pop
 * each count once). Round trips are counted where they are sent: every command
 * the in-process client and worker (BullMQ's connections included) write, a
 * pipeline or MULTI block once, so a plain command (an SMEMBERS, a DEL) counts
 * too. The worker's periodic work (the sweep, BullMQ's
 * stalled-job check, its blocking pops) is measured on its own while idle and
 * subtracted, so what is left is what the runs cost.
 *
 * Kept runs: N runs of a workflow that waits for a signal, and N that wait on
 * a one-hour delay (a far timer: an entry in the timers index, no BullMQ job
 * until it comes within the horizon), are parked, and N runs of linear-1
 * complete (kept for their retention, with their index entries); each time the
 * server's `used_memory` delta is divided by N (run ids are ULIDs, as Parkway
 * makes them), and `MEMORY USAGE` of one run's keys says where the bytes go.
 *
 * Flags: `--runs N` (default 500), `--rounds N` (default 3: each shape's median round
 * by CPU is reported), `--redis-server PATH` (default `redis-server`),
 * `--json` (print the report as JSON).
 */
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { flow, newId, type Workflow } from "@parkway/core";
import { ParkwayClient, WorkflowWorker } from "@parkway/bullmq";
import { Redis } from "ioredis";
import { readCostFlags } from "./cost-flags.js";
import { freePort, startRedisServer } from "./redis-servers.js";

/** A reading of the server: CPU seconds, calls per command, memory; and the round trips sent so far. */
interface Reading {
  readonly cpuUs: number;
  readonly commands: Readonly<Record<string, number>>;
  readonly usedMemory: number;
  readonly trips: number;
  readonly at: number;
}

/** Round trips sent by every ioredis connection of this process but the harness's own. */
const sent = { trips: 0 };

/** Counts each command written to Redis once, a pipeline's (or MULTI block's) commands once for the whole block. */
function countRoundTrips(harness: Redis): void {
  type Send = (this: Redis, command: unknown, stream?: object) => unknown;
  const proto = Redis.prototype as unknown as { sendCommand: Send };
  const send = proto.sendCommand;
  const blocks = new WeakSet<object>();
  proto.sendCommand = function (command, stream) {
    if (this !== harness && (stream === undefined || !blocks.has(stream))) {
      if (stream !== undefined) blocks.add(stream);
      sent.trips++;
    }
    return send.call(this, command, stream);
  };
}

/** The harness's own commands, left out of the counts. */
const HARNESS = new Set(["info", "config|resetstat", "memory|usage", "zcard", "ping", "client|setname", "client|setinfo", "select"]);

/** Commands clients send themselves: each is one round trip (everything else runs inside a script or a MULTI). */
const CLIENT_CALLS = new Set([
  "evalsha",
  "eval",
  "fcall",
  "function|load",
  "multi",
  "bzpopmin",
  "subscribe",
  "script|load",
  "publish_client",
]);

async function read(redis: Redis): Promise<Reading> {
  const [cpu, stats, memory] = await Promise.all([redis.info("cpu"), redis.info("commandstats"), redis.info("memory")]);
  const field = (text: string, name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, "m").exec(text)?.[1] ?? 0);
  const commands: Record<string, number> = {};
  for (const match of stats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) commands[match[1]!] = Number(match[2]);
  return {
    cpuUs: (field(cpu, "used_cpu_user") + field(cpu, "used_cpu_sys")) * 1e6,
    commands,
    usedMemory: field(memory, "used_memory"),
    trips: sent.trips,
    at: performance.now(),
  };
}

interface Delta {
  readonly cpuUs: number;
  readonly commands: Record<string, number>;
  readonly trips: number;
  readonly ms: number;
}

function delta(before: Reading, after: Reading): Delta {
  const commands: Record<string, number> = {};
  for (const [name, calls] of Object.entries(after.commands)) {
    const n = calls - (before.commands[name] ?? 0);
    if (n > 0 && !HARNESS.has(name)) commands[name] = n;
  }
  return { cpuUs: after.cpuUs - before.cpuUs, commands, trips: after.trips - before.trips, ms: after.at - before.at };
}

/** `d` less what the idle worker costs in as long a time. */
function lessIdle(d: Delta, idle: Delta): Delta {
  const share = d.ms / idle.ms;
  const commands: Record<string, number> = {};
  for (const [name, n] of Object.entries(d.commands)) {
    const left = n - (idle.commands[name] ?? 0) * share;
    if (left > 0.5) commands[name] = left;
  }
  return { cpuUs: d.cpuUs - idle.cpuUs * share, commands, trips: d.trips - idle.trips * share, ms: d.ms };
}

const sum = (counts: Readonly<Record<string, number>>) => Object.values(counts).reduce((a, b) => a + b, 0);
const calls = (counts: Readonly<Record<string, number>>) =>
  Object.entries(counts).reduce((a, [name, n]) => a + (CLIENT_CALLS.has(name) ? n : 0), 0);

function linear(steps: number): Workflow<number, unknown> {
  let chain = flow<number>(`linear-${steps}`).then("s1", (x: number) => x);
  for (let i = 2; i <= steps; i++) chain = chain.then(`s${i}`, (x: number) => x);
  return chain.build();
}

/** What one shape cost per run. */
interface ShapeCost {
  readonly shape: string;
  readonly steps: number;
  readonly runs: number;
  readonly cpuUsPerRun: number;
  readonly commandsPerRun: number;
  readonly callsPerRun: number;
  readonly roundTripsPerRun: number;
  readonly commandsPerRunByName: Record<string, number>;
}

/** What one run left in Redis's memory: parked on a signal or a delay, or completed. */
interface KeptCost {
  readonly shape: string;
  readonly state: "parked" | "completed";
  readonly bytesPerRun: number;
  /** MEMORY USAGE of one run's keys, by key kind. */
  readonly keys: Record<string, number>;
}

interface Report {
  readonly runs: number;
  readonly rounds: number;
  readonly redisVersion: string;
  readonly idleCpuUsPerSecond: number;
  readonly shapes: readonly ShapeCost[];
  /** Per further step: the difference between linear-9 and linear-1, over 8 steps. */
  readonly perStep: {
    readonly cpuUs: number;
    readonly commands: number;
    readonly calls: number;
    readonly roundTrips: number;
    readonly byName: Record<string, number>;
  };
  readonly kept: readonly KeptCost[];
}

async function main(): Promise<void> {
  const options = readCostFlags(process.argv.slice(2), { runs: 500, rounds: 3 });
  const port = await freePort();
  const server = await startRedisServer(port, [], options.server);
  const connection = `redis://127.0.0.1:${port}`;
  const redis = new Redis(connection);
  countRoundTrips(redis);
  const shapes = [linear(1), linear(4), linear(9)];
  const signalled = flow<number>("parked-signal").waitForSignal<number>("wait", "go").build();
  const delayed = flow<number>("parked-delay").delay("nap", "1h").build();
  const namespace = "cost";
  const client = new ParkwayClient({ connection, namespace, workflows: [...shapes, signalled, delayed] });
  // No sweep while measuring: it is periodic work, not a run's (the idle reading covers the rest).
  const worker = new WorkflowWorker({
    connection,
    namespace,
    workflows: [...shapes, signalled, delayed],
    concurrency: 50,
    sweepInterval: "1h",
  });
  try {
    await worker.start();
    const redisVersion = /^redis_version:(\S+)/m.exec(await redis.info("server"))?.[1] ?? "?";

    const settled = (n: number) => (worker.stats.outcomes.completed ?? 0) + (worker.stats.outcomes.parked ?? 0) >= n;
    let started = 0;
    const drive = async (workflow: Workflow<number, unknown>, n: number) => {
      const target = started + n;
      for (let i = 0; i < n; i += 50) {
        await Promise.all(Array.from({ length: Math.min(50, n - i) }, () => client.start(workflow, 1)));
      }
      started = target;
      while (!settled(target)) await sleep(5);
      // The job of the last run is completed (and removed) just after its run ends.
      await sleep(200);
    };

    // Warm up every script and code path, then measure the idle worker.
    for (const shape of shapes) await drive(shape, 20);
    await sleep(500);
    const idleBefore = await read(redis);
    await sleep(3000);
    const idle = delta(idleBefore, await read(redis));

    // Rounds of every shape in turn; each shape's median round by CPU is reported (other tenants of the machine add noise).
    const rounds: Delta[][] = shapes.map(() => []);
    for (let round = 0; round < options.rounds; round++) {
      for (const [i, shape] of shapes.entries()) {
        const before = await read(redis);
        await drive(shape, options.runs);
        rounds[i]!.push(lessIdle(delta(before, await read(redis)), idle));
      }
    }
    const costs: ShapeCost[] = [];
    for (const [i, shape] of shapes.entries()) {
      const sorted = [...rounds[i]!].sort((a, b) => a.cpuUs - b.cpuUs);
      const d = sorted[Math.floor(sorted.length / 2)]!;
      const byName: Record<string, number> = {};
      for (const [name, n] of Object.entries(d.commands)) byName[name] = n / options.runs;
      costs.push({
        shape: shape.name,
        steps: [1, 4, 9][i]!,
        runs: options.runs,
        cpuUsPerRun: d.cpuUs / options.runs,
        commandsPerRun: sum(d.commands) / options.runs,
        callsPerRun: calls(d.commands) / options.runs,
        roundTripsPerRun: d.trips / options.runs,
        commandsPerRunByName: byName,
      });
    }
    const one = costs[0]!;
    const nine = costs[2]!;
    const stepByName: Record<string, number> = {};
    for (const name of new Set([...Object.keys(one.commandsPerRunByName), ...Object.keys(nine.commandsPerRunByName)])) {
      const n = ((nine.commandsPerRunByName[name] ?? 0) - (one.commandsPerRunByName[name] ?? 0)) / 8;
      if (Math.abs(n) >= 0.05) stepByName[name] = n;
    }

    const kept: KeptCost[] = [];
    for (const shape of [signalled, delayed, shapes[0]!]) {
      await sleep(300);
      const before = await read(redis);
      // Ids as Parkway makes them (ULIDs): an id is in every key and index entry of its run.
      const ids = Array.from({ length: options.runs }, () => newId());
      const firstId = ids[0]!;
      for (let i = 0; i < options.runs; i += 50) {
        await Promise.all(ids.slice(i, i + 50).map((id) => client.start(shape, 1, { id })));
      }
      started += options.runs;
      while (!settled(started)) await sleep(5);
      await sleep(300);
      const after = await read(redis);
      const keys: Record<string, number> = {};
      const k = client.store.keys;
      const named: Record<string, string> = {
        header: k.header(firstId),
        outputs: k.outputs(firstId),
        wakes: k.wakes(firstId),
        history: k.history(firstId),
      };
      // A delayed wake-up's job id is recorded in the run's wakes: set (its id is a digest, not the run id).
      for (const jobId of await redis.smembers(k.wakes(firstId))) named[`job ${jobId.split("-")[0]}`] = `{${namespace}}:bull:wake:${jobId}`;
      for (const [name, key] of Object.entries(named)) {
        const bytes = await redis.memory("USAGE", key);
        if (bytes !== null) keys[name] = Number(bytes);
      }
      const state = shape === signalled || shape === delayed ? "parked" : "completed";
      kept.push({ shape: shape.name, state, bytesPerRun: (after.usedMemory - before.usedMemory) / options.runs, keys });
    }

    const report: Report = {
      runs: options.runs,
      rounds: options.rounds,
      redisVersion,
      idleCpuUsPerSecond: idle.cpuUs / (idle.ms / 1000),
      shapes: costs,
      perStep: {
        cpuUs: (nine.cpuUsPerRun - one.cpuUsPerRun) / 8,
        commands: (nine.commandsPerRun - one.commandsPerRun) / 8,
        calls: (nine.callsPerRun - one.callsPerRun) / 8,
        roundTrips: (nine.roundTripsPerRun - one.roundTripsPerRun) / 8,
        byName: stepByName,
      },
      kept,
    };
    console.log(options.json ? JSON.stringify(report, null, 2) : render(report));
  } finally {
    await worker.close();
    await client.close();
    redis.disconnect();
    server.kill("SIGKILL");
  }
}

const fixed = (n: number, digits = 1) => n.toFixed(digits);
const byName = (counts: Readonly<Record<string, number>>) =>
  Object.entries(counts)
    .sort((a, b) => b[1] - a[1])
    .map(([name, n]) => `${name} ${fixed(n)}`)
    .join(", ");

function render(report: Report): string {
  const lines = [
    `Redis ${report.redisVersion}, ${report.runs} runs per shape (median of ${report.rounds} rounds), one worker (concurrency 50); idle worker: ${fixed(report.idleCpuUsPerSecond, 0)} µs CPU/s (subtracted)`,
    "",
    "shape      Redis CPU µs/run  commands/run  calls/run  round trips/run",
  ];
  for (const s of report.shapes) {
    lines.push(
      `${s.shape.padEnd(10)} ${fixed(s.cpuUsPerRun).padStart(16)}  ${fixed(s.commandsPerRun).padStart(12)}  ${fixed(s.callsPerRun).padStart(9)}  ${fixed(s.roundTripsPerRun).padStart(15)}`,
    );
  }
  const p = report.perStep;
  lines.push(
    `per step   ${fixed(p.cpuUs).padStart(16)}  ${fixed(p.commands).padStart(12)}  ${fixed(p.calls).padStart(9)}  ${fixed(p.roundTrips).padStart(15)}   (linear-9 less linear-1, over 8 steps)`,
    "",
    `linear-1 commands/run: ${byName(report.shapes[0]!.commandsPerRunByName)}`,
    `per step commands:     ${byName(p.byName)}`,
    "",
  );
  for (const run of report.kept) {
    lines.push(`${run.shape}: ${fixed(run.bytesPerRun, 0)} bytes per ${run.state} run (used_memory); one run's keys: ${byName(run.keys)}`);
  }
  return lines.join("\n");
}

await main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
