#!/usr/bin/env node
/**
 * `npm run redis-instructions -w @parkway/bench`: the instructions Redis executes to run Parkway's
 * scripts, per call of each store operation of a run and per whole run, counted by valgrind's
 * callgrind on a private redis-server. CPU time on a shared machine moves by a quarter from one
 * invocation to the next; an instruction count moves by about 2k per call (under a hundredth; the
 * server's random hash seed), so a change worth more can be judged on one invocation before and
 * one after, and a smaller one on two of each. It counts what runs inside the script commands
 * (FCALL, EVALSHA, EVAL: the script, the commands it calls, Lua's memory management), not reading
 * the request or writing the reply, and nothing of BullMQ: `redis-cost` measures the whole.
 *
 * Each phase is measured on its own: N runs are started (the "start" phase), then all acquired,
 * then each first attempt started, then each step committed with the next attempt, then each
 * committed completing the run. The signal path likewise: N runs, brought to a wait uncounted,
 * park on a signal, are signalled, acquired again and take their signal. Then N whole runs of one
 * step, and of nine, go through the calls of the first list; a step is the difference, over eight.
 *
 * Needs `valgrind` (with `callgrind_control`) and `redis-server` on the PATH.
 * Flags: `--runs N` (default 200), `--redis-server PATH` (default `redis-server`), `--json`.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { newId } from "@parkway/core";
import { RedisStore } from "@parkway/redis";
import { Redis } from "ioredis";
import { readCostFlags } from "./cost-flags.js";
import { freePort, startRedisServer } from "./redis-servers.js";

/** The server functions whose instructions count (and everything they call). */
const SCRIPT_COMMANDS = ["fcallCommand", "evalShaCommand", "evalCommand"];
const LEASE_MS = 60_000;
const PAYLOAD = new Uint8Array([0x93, 1, 2, 3]);

/** Counts the instructions of what `work` makes the server run, through callgrind_control. */
class Counter {
  constructor(
    private readonly pid: number,
    private readonly dir: string,
  ) {}

  async count(work: () => Promise<unknown>): Promise<number> {
    this.control("-z");
    this.control("-i", "on");
    try {
      await work();
    } finally {
      this.control("-i", "off");
    }
    this.control("-d");
    const dumps = readdirSync(this.dir)
      .filter((file) => file.startsWith("callgrind.out"))
      .map((file) => join(this.dir, file))
      .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
    const totals = /^totals:\s+(\d+)/m.exec(readFileSync(dumps[0]!, "utf8"));
    if (!totals) throw new Error(`no totals in callgrind's dump ${dumps[0]}`);
    return Number(totals[1]);
  }

  private control(...args: string[]): void {
    execFileSync("callgrind_control", [...args, String(this.pid)], { stdio: "ignore" });
  }
}

interface Run {
  readonly id: string;
  version: number;
}

/** Store calls of a run, one phase at a time. */
function phases(store: RedisStore): Record<string, (run: Run) => Promise<void>> {
  return {
    start: async (run) => {
      await store.start({ id: run.id, workflow: "w", hash: "h", input: PAYLOAD });
    },
    acquire: async (run) => {
      const got = await store.acquire(run.id, LEASE_MS);
      if (!got.acquired) throw new Error(`run ${run.id} was not acquired`);
      run.version = got.run.header.version;
    },
    "first attempt": async (run) => {
      await store.startAttempt(run.id, run.version, "s1", 1, LEASE_MS);
    },
    "commit, next attempt": async (run) => {
      const then = { startAttempt: { key: "s2", attempt: 1 } };
      run.version = (await store.commit(run.id, run.version, "s1", PAYLOAD, 1, LEASE_MS, [], [], then)).version;
    },
    "commit, completing": async (run) => {
      run.version = (await store.commit(run.id, run.version, "s2", PAYLOAD, 1, LEASE_MS, [], [], { complete: PAYLOAD })).version;
    },
  };
}

/** Store calls of a run that waits for a signal, one phase at a time, from a run that holds its second step's attempt. */
function signalPhases(store: RedisStore): Record<string, (run: Run) => Promise<void>> {
  const wait = { kind: "signal", key: "s2", signal: "go", timeoutMs: null } as const;
  return {
    "park on a signal": async (run) => {
      const parked = await store.park(run.id, run.version, [wait], { s2: 1 });
      if (parked.outcome !== "parked") throw new Error(`run ${run.id} did not park: ${parked.outcome}`);
    },
    signal: async (run) => {
      await store.signal(run.id, "go", PAYLOAD);
    },
    "acquire, woken": async (run) => {
      const got = await store.acquire(run.id, LEASE_MS);
      if (!got.acquired) throw new Error(`run ${run.id} was not acquired`);
      run.version = got.run.header.version;
    },
    "take the signal": async (run) => {
      const taken = await store.takeSignal(run.id, run.version, "s2", "go", null, LEASE_MS);
      if (!("outcome" in taken) || taken.outcome !== "signal") throw new Error(`run ${run.id} took no signal: ${JSON.stringify(taken)}`);
    },
  };
}

/** A whole run of `steps` steps, through the calls a worker makes. */
async function wholeRun(store: RedisStore, steps: number): Promise<void> {
  const id = newId();
  await store.start({ id, workflow: "w", hash: "h", input: PAYLOAD });
  const got = await store.acquire(id, LEASE_MS);
  if (!got.acquired) throw new Error(`run ${id} was not acquired`);
  let version = got.run.header.version;
  await store.startAttempt(id, version, "s1", 1, LEASE_MS);
  for (let s = 1; s <= steps; s++) {
    const then = s < steps ? { startAttempt: { key: `s${s + 1}`, attempt: 1 } } : { complete: PAYLOAD };
    version = (await store.commit(id, version, `s${s}`, PAYLOAD, 1, LEASE_MS, [], [], then)).version;
  }
}

async function main(): Promise<void> {
  const options = readCostFlags(process.argv.slice(2), { runs: 200 });
  const dir = mkdtempSync(join(tmpdir(), "parkway-callgrind-"));
  const port = await freePort();
  const launcher = [
    "valgrind",
    "--tool=callgrind",
    `--callgrind-out-file=${join(dir, "callgrind.out.%p")}`,
    "--instr-atstart=no",
    "--collect-atstart=no",
    ...SCRIPT_COMMANDS.map((fn) => `--toggle-collect=${fn}`),
  ];
  const server = await startRedisServer(port, [], options.server, launcher);
  const redis = new Redis(port, "127.0.0.1");
  const store = new RedisStore({ connection: redis, namespace: "instructions", onWarning: () => undefined });
  try {
    const counter = new Counter(server.pid!, dir);
    const version = /^redis_version:(\S+)/m.exec(await redis.info("server"))?.[1] ?? "?";
    // Every script loaded (and every code path warm) before anything is counted.
    for (const steps of [1, 2, 9]) await Promise.all(Array.from({ length: 5 }, () => wholeRun(store, steps)));

    const perCall: Record<string, number> = {};
    const runs: Run[] = Array.from({ length: options.runs }, () => ({ id: newId(), version: 0 }));
    for (const [name, phase] of Object.entries(phases(store))) {
      perCall[name] = (await counter.count(() => Promise.all(runs.map(phase)))) / options.runs;
    }
    // The signal path: runs brought uncounted to their second step (the wait), its attempt started.
    const waiting: Run[] = Array.from({ length: options.runs }, () => ({ id: newId(), version: 0 }));
    const linear = phases(store);
    for (const name of ["start", "acquire", "first attempt", "commit, next attempt"]) await Promise.all(waiting.map(linear[name]!));
    for (const [name, phase] of Object.entries(signalPhases(store))) {
      perCall[name] = (await counter.count(() => Promise.all(waiting.map(phase)))) / options.runs;
    }
    const perRun: Record<string, number> = {};
    for (const steps of [1, 9]) {
      perRun[`linear-${steps}`] =
        (await counter.count(() => Promise.all(Array.from({ length: options.runs }, () => wholeRun(store, steps))))) / options.runs;
    }
    const perStep = (perRun["linear-9"]! - perRun["linear-1"]!) / 8;
    const report = { redisVersion: version, runs: options.runs, perCall, perRun, perStep };
    if (options.json) {
      console.log(JSON.stringify(report, null, 2));
      return;
    }
    const k = (n: number) => `${(n / 1000).toFixed(1)}k`.padStart(9);
    console.log(`Redis ${version}, ${options.runs} runs; instructions inside script calls (callgrind), thousands\n`);
    for (const [name, n] of Object.entries(perCall)) console.log(`${name.padEnd(22)}${k(n)} per call`);
    for (const [name, n] of Object.entries(perRun)) console.log(`${name.padEnd(22)}${k(n)} per run`);
    console.log(`${"per step".padEnd(22)}${k(perStep)}   (linear-9 less linear-1, over 8 steps)`);
  } finally {
    await store.close();
    redis.disconnect();
    server.kill("SIGTERM");
    await new Promise((resolve) => (server.exitCode === null ? server.once("exit", resolve) : resolve(undefined)));
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
