/**
 * One run of the fault suite's load against a fleet of worker processes, with
 * faults injected meanwhile: the driver starts and steers every planned run
 * (and two schedules tick), the faults run for the load and a little past it,
 * then the fleet is healed, the load settles, and every promise of
 * invariants.ts is checked. Whatever the Redis (one server, a Cluster) and the
 * faults, the load and the checks are these.
 */
import { RedisStore } from "@parkway/redis";
import { ParkwayClient } from "../../src/index.js";
import type { RedisEvent } from "./chaos.js";
import type { WorkerFleet } from "./fleet.js";
import { workflows } from "./fixtures/fault-workflows.mjs";
import { checkInvariants, type CheckInput, type Report } from "./invariants.js";
import { readLedger } from "./ledger.js";
import { LoadDriver, planRuns } from "./load.js";
import { SignalRelays } from "./relays.js";
import { RetentionWatch } from "./retention-watch.js";

/** What injects the faults: started when the load starts, stopped once it and `faultTailMs` are over. */
export interface Faults {
  start(): void;
  /** Resolves once the last fault in progress is over (Redis up, workers thawed). */
  stop(): Promise<void>;
  readonly counts: Readonly<Record<string, number>>;
  /** Redis restarts and subscriber drops, to excuse what they delayed. */
  readonly redisEvents?: readonly RedisEvent[];
  /**
   * What the faults may lose by design (a failover's last writes), measured once the load settled:
   * its counts, its violations (a loss they do not explain), and the runs a loss explains, whose
   * own violations are that loss's consequences (a run waiting for a lost signal) and not counted.
   */
  checkLosses?(input: CheckInput): Promise<{
    readonly counts: Record<string, number>;
    readonly violations: readonly string[];
    readonly explained: ReadonlySet<string>;
  }>;
}

export interface ScenarioOptions {
  /** A Redis URL, or a Redis Cluster's nodes comma-separated, as the workers have it. */
  readonly connection: string;
  readonly namespace: string;
  readonly partitions?: number;
  /** The workers, started. */
  readonly fleet: WorkerFleet;
  /** Where the workers write their ledger. */
  readonly dir: string;
  readonly runs: number;
  /** Over how long the runs are started. */
  readonly loadMs: number;
  /** How long the faults go on after the last run was started. */
  readonly faultTailMs: number;
  /** How long the load may take to settle once the faults stopped. */
  readonly settleMs: number;
  readonly faults: Faults;
}

export interface ScenarioReport {
  /** Every count: the load's, the faults', the checks'; `violations` is their number. */
  readonly summary: Record<string, number>;
  readonly violations: string[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const FINISHED = ["completed", "failed", "cancelled"];
/** Kinds whose runs a repair, a delete or a retention may touch: watched while the load runs. */
const WATCHED = ["ephemeral", "retried", "rewind", "migrate"];

export async function runFaultScenario(o: ScenarioOptions): Promise<ScenarioReport> {
  const partitions = o.partitions ?? 1;
  const client = new ParkwayClient({ connection: o.connection, namespace: o.namespace, partitions, workflows });
  // ioredis prints every failed reconnect of a connection nobody listens to: keep the output to the counts.
  client.store.redis.on("error", () => undefined);
  client.wakeQueue.queue.on("error", () => undefined);
  const store = new RedisStore({ connection: o.connection, namespace: o.namespace, partitions, onWarning: () => {} });
  store.redis.on("error", () => undefined);
  const relays = await SignalRelays.start(o.connection, o.namespace, partitions);
  try {
    const driver = new LoadDriver(client, planRuns(o.runs), { relays });
    const watch = new RetentionWatch(
      store,
      driver.runs.filter((r) => WATCHED.includes(r.kind)).map((r) => r.id),
    );
    const began = Date.now();
    watch.start();
    o.faults.start();
    await driver.drive(o.loadMs);
    const driven = Date.now();
    await sleep(Math.max(0, began + o.loadMs + o.faultTailMs - Date.now()));
    await o.faults.stop();
    await o.fleet.heal();
    await watch.stop();
    const faultsOver = Date.now();

    const unsettled = await settle(
      store,
      driver.runs.map((r) => r.id),
      o.settleMs,
    );
    const missingResults = await driver.awaitResults(unsettled.length === 0 ? 20_000 : 1000);
    const ledger = readLedger(o.dir);
    const input: CheckInput = {
      store,
      runs: driver.runs,
      signals: driver.signals,
      results: driver.results,
      ledger,
      cancelsAcked: driver.cancelsAcked,
      startsAcked: driver.startsAcked,
      repairs: driver.repairs,
      schedules: driver.schedules,
      faults: { processes: o.fleet.history, redis: o.faults.redisEvents ?? [] },
      retention: watch,
    };
    const report = await checkInvariants(input);
    await excuseLosses(report, o.faults, input);
    for (const exit of o.fleet.unexpectedExits) {
      report.violations.push(`worker ${exit.pid} exited on its own (code ${exit.code}, signal ${exit.signal}):\n${exit.logTail}`);
    }
    for (const pid of o.fleet.stuckOnSigterm) report.violations.push(`worker ${pid} did not exit within a minute of SIGTERM`);
    if (missingResults.length > 0) report.counts.resultCallsPending = missingResults.length;
    const summary = {
      runs: driver.runs.length,
      started: driver.counts.started,
      cancels: driver.counts.cancels,
      purges: driver.counts.purges,
      purged: driver.counts.purged,
      driveSeconds: Math.round((driven - began) / 1000),
      loadSeconds: Math.round((faultsOver - began) / 1000),
      settleSeconds: Math.round((Date.now() - faultsOver) / 1000),
      workerStarts: o.fleet.counts.started,
      ...o.faults.counts,
      clientRetries: driver.counts.transientRetries,
      ledgerFiles: ledger.files,
      ledgerTornLines: ledger.torn,
      ...report.counts,
      violations: report.violations.length,
    };
    return { summary, violations: report.violations };
  } finally {
    await relays.close();
    await client.close().catch(() => undefined);
    await store.close().catch(() => undefined);
  }
}

/** Leaves out the violations of the runs a loss the faults measured explains, and adds the losses' own. */
async function excuseLosses(report: Report, faults: Faults, input: CheckInput): Promise<void> {
  const losses = await faults.checkLosses?.(input);
  if (!losses) return;
  // A run's id, not the start of another's (`chain-1` is not `chain-12`); its children and signals (`parent-3/kid/kid`, `signals-4.1f2e`) count.
  const escape = (id: string) => id.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const patterns = [...losses.explained].map((id) => new RegExp(`(^|[^\\w-])${escape(id)}(?![\\w-])`));
  const names = (violation: string) => patterns.some((pattern) => pattern.test(violation));
  const excused = report.violations.filter(names);
  report.violations.splice(0, report.violations.length, ...report.violations.filter((v) => !names(v)), ...losses.violations);
  Object.assign(report.counts, losses.counts, { violationsALossExplains: excused.length });
  for (const v of excused) console.log(`fault suite: explained by a loss: ${v}`);
}

/**
 * Waits until every planned run is finished and nothing else is live (the schedules' runs and
 * the children), or `settleMs` passed; returns the planned ids still unfinished.
 */
async function settle(store: RedisStore, ids: readonly string[], settleMs: number): Promise<string[]> {
  const deadline = Date.now() + settleMs;
  let open = [...ids];
  for (let polls = 1; Date.now() < deadline; polls++) {
    const statuses = await readStatuses(store, open);
    // A run whose header is gone finished: only a finished run is deleted, purged or expired.
    open = open.filter((id) => statuses.get(id) !== null && !FINISHED.includes(statuses.get(id) ?? "unread"));
    const live = open.length > 0 ? 1 : await liveRuns(store);
    if (live === 0) break;
    if (polls % 10 === 0)
      console.log(`fault suite: ${open.length} planned runs still open (e.g. ${open.slice(0, 5).join(", ")}), ${live} live in all`);
    await sleep(1000);
  }
  return open;
}

/**
 * The status of each run (null: its header is gone; absent: not read, Redis away), one pipeline per
 * partition: a Cluster takes a pipeline only when every key of it is in one slot.
 */
async function readStatuses(store: RedisStore, ids: readonly string[]): Promise<Map<string, string | null>> {
  const byPartition = new Map<string, string[]>();
  for (const id of ids) {
    const prefix = store.layoutOf(id).prefix;
    byPartition.set(prefix, [...(byPartition.get(prefix) ?? []), id]);
  }
  const statuses = new Map<string, string | null>();
  await Promise.all(
    [...byPartition.values()].map(async (group) => {
      const pipeline = store.redis.pipeline();
      for (const id of group) pipeline.hget(store.layoutOf(id).header(id), "status");
      const replies = (await pipeline.exec().catch(() => null)) ?? [];
      group.forEach((id, i) => {
        const [error, status] = replies[i] ?? [new Error("unread")];
        if (!error) statuses.set(id, status as string | null);
      });
    }),
  );
  return statuses;
}

async function liveRuns(store: RedisStore): Promise<number> {
  const counts = await store.counts().catch(() => null);
  return counts === null ? 1 : counts.pending + counts.running + counts.parked + counts.paused;
}
