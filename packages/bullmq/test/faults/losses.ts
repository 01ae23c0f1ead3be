/**
 * What failovers lost, measured outside Redis: the load's acknowledgements
 * (starts, signals, cancels) and the ledger's executions against what the
 * store holds once the load settled. A write is lost to a failover when the
 * master serving its run's slot was killed after it was acknowledged and the
 * new master does not have it. Redis replicates asynchronously, so the last
 * writes before a kill may be lost (the replication window): the replica's
 * lag, when it lagged, and `windowSlackMs` more. A write lost that was
 * acknowledged earlier than that, or lost without a failover after it, is a
 * violation; so is a step committed twice.
 *
 * - lostStarts: a run whose start was acknowledged, gone from the store;
 * - lostCommits: a step output an execution was fed (so it was committed),
 *   no longer the step's output (a rewind or a loop's pruning aside);
 * - lostSignals: an acknowledged signal neither consumed nor buffered;
 * - lostCancels: an acknowledged cancel, of a run that did not end cancelled;
 * - lostTicks: a schedule's tick whose run is gone.
 *
 * A loss's age is how long before the kill the write was acknowledged, at the
 * least (a commit is known to be acknowledged before the first execution fed
 * its output began): `lossAgeMostMs` is the largest.
 */
import { decode, type StoredRun } from "@parkway/core";
import { partitionOf } from "@parkway/redis";
import type { Failover } from "../../../redis/test/cluster.js";
import type { CheckInput } from "./invariants.js";
import type { Execution } from "./ledger.js";

export interface LossReport {
  readonly counts: Record<string, number>;
  readonly violations: string[];
  /** Runs a loss within the window explains: their own violations are the loss's consequences. */
  readonly explained: ReadonlySet<string>;
}

export interface LossContext {
  readonly failovers: readonly Failover[];
  readonly partitions: number;
  /** The Cluster slot of a partition. */
  slotOf(partition: number): number;
  readonly windowSlackMs: number;
}

/** How late a tick's run is started at the latest: the 5s lease of a dead worker's mark, and a sweep. */
const TICK_STARTED_WITHIN_MS = 6000;

/** Kinds whose runs drop or replace committed outputs on purpose (a rewind, a loop's earlier iterations). */
const REPLACES_OUTPUTS = ["rewind-", "loop-"];

export async function measureLosses(input: CheckInput, context: LossContext): Promise<LossReport> {
  const losses = new Losses(input, context);
  await losses.starts();
  await losses.commits();
  await losses.signals();
  await losses.cancels();
  await losses.ticks();
  await losses.doubleCommits();
  return { counts: losses.counts, violations: losses.violations, explained: losses.explained };
}

class Losses {
  readonly counts: Record<string, number> = {
    lostStarts: 0,
    lostCommits: 0,
    lostSignals: 0,
    lostCancels: 0,
    lostTicks: 0,
    lostWithoutLag: 0,
    lostAfterLag: 0,
    lossAgeMostMs: 0,
  };
  readonly violations: string[] = [];
  readonly explained = new Set<string>();
  private readonly runs = new Map<string, Promise<StoredRun | null>>();

  constructor(
    private readonly input: CheckInput,
    private readonly context: LossContext,
  ) {}

  async starts(): Promise<void> {
    for (const [id, ackedAt] of this.input.startsAcked ?? []) {
      // A short-lived run may have gone by its retention, a delete or a purge: checkRetention judges it.
      if (id.startsWith("ephemeral-") || (await this.run(id))) continue;
      this.lost("lostStarts", id, `its start`, ackedAt, ackedAt);
    }
  }

  /** Step outputs an execution was fed, gone from their step since. */
  async commits(): Promise<void> {
    const { executions } = this.input.ledger;
    // The first execution fed each output, by the output's token.
    const firstFed = new Map<string, Execution>();
    for (const e of executions.values()) {
      for (const token of e.consumed) {
        const seen = firstFed.get(token);
        if (!seen || e.began < seen.began) firstFed.set(token, e);
      }
    }
    for (const [token, fed] of firstFed) {
      const source = executions.get(token);
      if (!source || source.ended === null || REPLACES_OUTPUTS.some((kind) => source.run.startsWith(kind))) continue;
      const run = await this.run(source.run);
      if (!run) continue; // gone with its run: a lost start, or a short-lived run's retention
      const output = run.outputs.get(source.key);
      const committed = output === undefined ? undefined : (decode(output, source.key) as { t?: unknown } | null)?.t;
      if (committed === token) continue;
      // Committed after its task ended and before `fed` began.
      this.lost("lostCommits", source.run, `the commit of ${source.key} (${token}, fed to ${fed.x})`, source.ended, fed.began);
    }
  }

  async signals(): Promise<void> {
    for (const s of this.input.signals) {
      if (s.outcome !== "acked" || s.ackedAt === undefined) continue;
      const run = await this.run(s.run);
      if (!run || (await this.holdsSignal(run, s.name, s.sig))) continue;
      this.lost("lostSignals", s.run, `signal ${s.sig}`, s.ackedAt, s.ackedAt);
    }
  }

  async cancels(): Promise<void> {
    for (const [id, ackedAt] of this.input.cancelsAcked) {
      const run = await this.run(id);
      if (!run || run.header.status === "cancelled") continue;
      this.lost("lostCancels", id, `its cancel (the run ended ${run.header.status})`, ackedAt, ackedAt);
    }
  }

  /** A schedule's tick whose run is gone: its start was acknowledged to the worker that fired it, at most a mark's lease late. */
  async ticks(): Promise<void> {
    for (const span of this.input.schedules ?? []) {
      for (let at = span.firstTickAt; at <= span.lastTickAt; at += 1000) {
        const id = `${span.id}@${new Date(at).toISOString()}`;
        if (!(await this.run(id))) this.lost("lostTicks", id, "its tick's start", at, at + TICK_STARTED_WITHIN_MS);
      }
    }
  }

  /** No step of a planned run was committed twice (a rewind, a retry or a migration starts the count again). */
  async doubleCommits(): Promise<void> {
    for (const plan of this.input.runs) {
      const history = await this.input.store.history(plan.id);
      const committed = new Set<string>();
      for (const event of history ?? []) {
        if (event.type === "rewound" || event.type === "retried" || event.type === "migrated") committed.clear();
        if (event.type !== "step.committed") continue;
        if (committed.has(event.key)) this.violations.push(`${plan.id}|${event.key}: committed twice`);
        committed.add(event.key);
      }
    }
  }

  /**
   * Records a write of run `id` acknowledged between `from` and `by` and lost: to the first
   * failover of its master whose replica was promoted after `from`, within the window before its
   * kill, or as a violation. An acknowledgement seen after the kill but before the promotion was
   * the old master's still (its reply was on its way as it died): nothing else served the slot.
   */
  private lost(count: string, id: string, what: string, from: number, by: number): void {
    const slot = this.context.slotOf(partitionOf(id, this.context.partitions));
    const failover = this.context.failovers.find((f) => f.promotedAt >= from && f.slots.some(([lo, hi]) => slot >= lo && slot <= hi));
    if (!failover) {
      this.violations.push(`${id}: ${what} was acknowledged and is gone, with no failover of its master after it`);
      return;
    }
    this.counts[count]!++;
    // How many losses each kind of failover made: a replica that lagged, or one that was up to date.
    const kind = failover.lagFrom === null ? "lostWithoutLag" : "lostAfterLag";
    this.counts[kind]!++;
    this.explained.add(id);
    const age = Math.max(0, failover.killedAt - by);
    this.counts.lossAgeMostMs = Math.max(this.counts.lossAgeMostMs!, age);
    const window = failover.killedAt - (failover.lagFrom ?? failover.killedAt) + this.context.windowSlackMs;
    if (age > window) {
      this.violations.push(
        `${id}: ${what} was lost to the failover of port ${failover.killed.port}, acknowledged ${age}ms before the kill (window ${window}ms)`,
      );
    }
  }

  private run(id: string): Promise<StoredRun | null> {
    let run = this.runs.get(id);
    if (!run) this.runs.set(id, (run = this.input.store.get(id)));
    return run;
  }

  /** Whether signal `sig` is in one of the run's outputs (consumed) or in its buffer of `name`. */
  private async holdsSignal(run: StoredRun, name: string, sig: string): Promise<boolean> {
    const contains = (bytes: Uint8Array) => Buffer.from(bytes).includes(sig);
    if ([...run.outputs.values()].some(contains)) return true;
    const { store } = this.input;
    const id = run.header.id;
    return (await store.redis.lrangeBuffer(store.layoutOf(id).signals(id, name), 0, -1)).some(contains);
  }
}
