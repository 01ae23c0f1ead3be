/**
 * The faults of the fault suite's Cluster scenario: each master of a local
 * Redis Cluster in turn is killed (SIGKILL) while the load runs, its replica
 * promoted, and the old master started again and rejoined as a replica of
 * the new one (see LocalCluster.failOver). Some failovers come after the
 * replica lagged (its link cut for a moment first), as a replica far from
 * its master or starved of CPU does: what the master acknowledged meanwhile
 * is lost with it.
 *
 * Redis replicates asynchronously, so a failover may lose the writes a master
 * acknowledged last: that is Redis's promise, not Parkway's. `checkLosses`
 * measures what was lost against what the load saw acknowledged, outside
 * Redis (see losses.ts), and says which runs a loss explains.
 */
import { partitionOf, partitionTag } from "@parkway/redis";
import type { Failover, LocalCluster } from "../../../redis/test/cluster.js";
import type { RedisEvent } from "./chaos.js";
import type { CheckInput } from "./invariants.js";
import { measureLosses, type LossReport } from "./losses.js";

export interface FailoverPlan {
  readonly cluster: LocalCluster;
  readonly namespace: string;
  readonly partitions: number;
  /** When (ms after the start) to fail the next master over; the masters are taken in turn. */
  readonly at: readonly number[];
  /** How long the replica of each failover in turn lags before its master is killed (0: it does not). */
  readonly replicaLagMs: readonly number[];
  /** How long after a kill a lost write may have been acknowledged, besides the replica's lag. */
  readonly windowSlackMs: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class ClusterFailovers {
  readonly counts = { failovers: 0, failoverErrors: 0, laggedFailovers: 0, promotedMostMs: 0, rejoinedMostMs: 0 };
  readonly redisEvents: RedisEvent[] = [];
  readonly failovers: Failover[] = [];
  /** The slot of each partition of the namespace. */
  private slots: number[] = [];
  private stopping = false;
  private done: Promise<void> | null = null;
  private readonly errors: string[] = [];

  constructor(private readonly plan: FailoverPlan) {}

  start(): void {
    this.done = this.loop(Date.now());
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.done;
  }

  /** What the failovers lost, measured against what the load saw acknowledged (see losses.ts). */
  async checkLosses(input: CheckInput): Promise<LossReport> {
    const report = await measureLosses(input, {
      failovers: this.failovers,
      slotOf: (partition) => this.slots[partition]!,
      partitions: this.plan.partitions,
      windowSlackMs: this.plan.windowSlackMs,
    });
    report.violations.push(...this.errors);
    report.counts.resumedMostMs = this.resumedMostMs(input);
    return report;
  }

  /**
   * How long after a failover healed the slowest worker process began its first task of a run of
   * a partition the failover moved (each worker consumes every partition's queue): a worker whose
   * connection did not resume would begin none of them again.
   */
  private resumedMostMs(input: CheckInput): number {
    let most = 0;
    for (const f of this.failovers) {
      const moved = (id: string) => {
        const slot = this.slots[partitionOf(id, this.plan.partitions)]!;
        return f.slots.some(([lo, hi]) => slot >= lo && slot <= hi);
      };
      const first = new Map<number, number>();
      for (const e of input.ledger.executions.values()) {
        if (e.began >= f.healedAt && moved(e.run)) first.set(e.pid, Math.min(first.get(e.pid) ?? Infinity, e.began));
      }
      for (const began of first.values()) most = Math.max(most, began - f.healedAt);
    }
    return most;
  }

  private async loop(began: number): Promise<void> {
    const { cluster, namespace, partitions } = this.plan;
    const admin = cluster.connect();
    try {
      this.slots = await Promise.all(
        Array.from({ length: partitions }, async (_, p) => Number(await admin.cluster("KEYSLOT", partitionTag(namespace, p, partitions)))),
      );
    } finally {
      admin.disconnect();
    }
    const masters = (await cluster.masters()).map((m) => m.master);
    for (const [i, at] of this.plan.at.entries()) {
      while (!this.stopping && Date.now() - began < at) await sleep(100);
      const master = masters[i % masters.length];
      if (this.stopping || !master) return;
      const replicaLagMs = this.plan.replicaLagMs[i % this.plan.replicaLagMs.length] ?? 0;
      try {
        const failover = await cluster.failOver(master, { replicaLagMs });
        this.failovers.push(failover);
        this.redisEvents.push({ kind: "down", at: failover.lagFrom ?? failover.killedAt }, { kind: "up", at: failover.healedAt });
        this.counts.failovers++;
        if (failover.lagFrom !== null) this.counts.laggedFailovers++;
        this.counts.promotedMostMs = Math.max(this.counts.promotedMostMs, failover.promotedAt - failover.killedAt);
        this.counts.rejoinedMostMs = Math.max(this.counts.rejoinedMostMs, failover.rejoinedAt - failover.killedAt);
      } catch (error) {
        this.counts.failoverErrors++;
        this.errors.push(`the failover of the master on port ${master.port} failed: ${(error as Error).message}`);
      }
    }
  }
}
