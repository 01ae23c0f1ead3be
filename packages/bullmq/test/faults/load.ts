/**
 * The fault suite's load: a plan of runs of every fault workflow, and a driver
 * that starts them at a steady rate through `ParkwayClient`, sends their
 * signals (some before the run waits, some after it parked), cancels the
 * runs planned to be cancelled, and awaits every `result()`.
 *
 * The driver is an ordinary client under the same faults as the workers: a
 * call that fails for a reason outside Parkway (Redis restarting, the
 * connection killed) is tried again. A signal whose call failed that way may
 * or may not have been buffered; the driver tries again with the same
 * delivery id, which Parkway promises to buffer once.
 */
import { randomBytes } from "node:crypto";
import { isParkwayError, type Workflow } from "@parkway/core";
import type { ParkwayClient } from "../../src/index.js";
import * as fx from "./fixtures/fault-workflows.mjs";

export type Kind = "chain" | "fork" | "signals" | "sleep" | "slow" | "cancel" | "doomed" | "parkretry" | "timeout";
export type Terminal = "completed" | "failed" | "cancelled";

export const WORKFLOWS: Record<Kind, Workflow<fx.Valued, fx.Valued>> = {
  chain: fx.chain,
  fork: fx.forked,
  signals: fx.signalled,
  sleep: fx.sleeper,
  slow: fx.slow,
  cancel: fx.cancellable,
  doomed: fx.doomed,
  parkretry: fx.parkedRetry,
  timeout: fx.timesOut,
};

/** Share of the load per kind (sums to 1). */
const MIX: Record<Kind, number> = {
  chain: 0.2,
  fork: 0.2,
  signals: 0.17,
  sleep: 0.1,
  slow: 0.1,
  cancel: 0.1,
  doomed: 0.04,
  parkretry: 0.04,
  timeout: 0.05,
};

export interface PlannedRun {
  readonly id: string;
  readonly kind: Kind;
  readonly n: number;
  readonly expect: Terminal;
}

/** A signal the driver sent (or tried to). */
export interface SentSignal {
  readonly sig: string;
  readonly run: string;
  readonly name: string;
  /** Order of sending within the run. */
  readonly seq: number;
  /** `acked`: the call returned; `rejected`: a typed error said no; `lost`: every try failed. */
  outcome: "acked" | "rejected" | "lost" | "pending";
  /** Tries that failed for a reason outside Parkway before the outcome. */
  retries: number;
  /** The typed error of a rejected signal. */
  code?: string;
}

/** How each run's `result()` ended, as the client saw it. */
export type ResultOutcome = { readonly status: Terminal; readonly value?: unknown; readonly code?: string };

export function planRuns(total: number): PlannedRun[] {
  const kinds = Object.keys(MIX) as Kind[];
  const runs: PlannedRun[] = [];
  for (const kind of kinds) {
    const count = Math.round(total * MIX[kind]);
    for (let i = 0; i < count; i++) {
      const expect: Terminal = kind === "cancel" ? "cancelled" : kind === "doomed" ? "failed" : "completed";
      runs.push({ id: `${kind}-${i}`, kind, n: i, expect });
    }
  }
  // Interleave kinds, deterministically, so every moment of the load has a mix.
  return runs.sort((a, b) => hash(a.id) - hash(b.id));
}

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const jitter = (max: number) => Math.floor(Math.random() * max);

export class LoadDriver {
  readonly signals: SentSignal[] = [];
  readonly results = new Map<string, ResultOutcome>();
  readonly counts = { started: 0, cancels: 0, transientRetries: 0 };
  /** When (wall clock) each run's cancel was acknowledged by the store. */
  readonly cancelsAcked = new Map<string, number>();
  private readonly followUps = new Set<Promise<void>>();
  private readonly watchers: Promise<void>[] = [];

  constructor(
    private readonly client: ParkwayClient,
    readonly runs: readonly PlannedRun[],
  ) {}

  /** Starts every run over `spreadMs`, with its signals and cancels; resolves when all were sent. */
  async drive(spreadMs: number): Promise<void> {
    const gap = spreadMs / this.runs.length;
    const began = Date.now();
    for (const [i, run] of this.runs.entries()) {
      const wait = began + i * gap - Date.now();
      if (wait > 0) await sleep(wait);
      this.follow(this.launch(run));
    }
    while (this.followUps.size > 0) await Promise.all([...this.followUps]);
  }

  /** Waits for every `result()` call, up to `timeoutMs`; returns the ids whose call never returned. */
  async awaitResults(timeoutMs: number): Promise<string[]> {
    await Promise.race([Promise.all(this.watchers), sleep(timeoutMs)]);
    return this.runs.filter((r) => !this.results.has(r.id)).map((r) => r.id);
  }

  private follow(work: Promise<void>): void {
    const tracked = work.finally(() => this.followUps.delete(tracked));
    this.followUps.add(tracked);
  }

  private async launch(run: PlannedRun): Promise<void> {
    await this.persist(() => this.client.start(WORKFLOWS[run.kind], { v: run.n, t: "input" }, { id: run.id }));
    this.counts.started++;
    this.watchers.push(this.watch(run.id));
    if (run.kind === "signals") {
      await sleep(jitter(2500));
      await this.signal(run.id, "item", 1 + (run.n % 7));
      await sleep(jitter(2500));
      await this.signal(run.id, "item", 11 + (run.n % 5));
    } else if (run.kind === "cancel") {
      await sleep(jitter(2500));
      await this.persist(async () => {
        try {
          await this.client.cancel(run.id);
        } catch (error) {
          // A cancel tried again after its reply was lost finds the run cancelled by the first try.
          if (!(isParkwayError(error, "RUN_FINISHED") && (error.context.status as string) === "cancelled")) throw error;
        }
      });
      this.cancelsAcked.set(run.id, Date.now());
      this.counts.cancels++;
    }
  }

  private async signal(run: string, name: string, v: number): Promise<void> {
    const sent: SentSignal = {
      sig: `${run}.${randomBytes(4).toString("hex")}`,
      run,
      name,
      seq: this.signals.filter((s) => s.run === run).length,
      outcome: "pending",
      retries: 0,
    };
    this.signals.push(sent);
    try {
      await this.persist(
        () => this.client.signal(run, name, { v, sig: sent.sig }, { deliveryId: sent.sig }),
        () => sent.retries++,
      );
      sent.outcome = "acked";
    } catch (error) {
      sent.outcome = isParkwayError(error) ? "rejected" : "lost";
      if (isParkwayError(error)) sent.code = error.code;
    }
  }

  /** `result()` until it answers for good: a transient failure (a connection lost) is not an answer. */
  private async watch(id: string): Promise<void> {
    for (;;) {
      try {
        this.results.set(id, { status: "completed", value: await this.client.result(id) });
        return;
      } catch (error) {
        if (isParkwayError(error, "CANCELLED")) return void this.results.set(id, { status: "cancelled" });
        if (isParkwayError(error, "RUN_FAILED")) {
          const cause = (error as Error).cause;
          return void this.results.set(id, { status: "failed", code: isParkwayError(cause) ? cause.code : "?" });
        }
        if (isParkwayError(error, "CLOSED")) return;
        this.counts.transientRetries++;
        await sleep(200);
      }
    }
  }

  /** Runs `call`, trying again (for up to a minute) while it fails for reasons outside Parkway. */
  private async persist<T>(call: () => Promise<T>, onRetry?: () => void): Promise<T> {
    const deadline = Date.now() + 60_000;
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (error) {
        if (isParkwayError(error) || Date.now() > deadline) throw error;
        this.counts.transientRetries++;
        onRetry?.();
        await sleep(Math.min(1000, 50 * attempt));
      }
    }
  }
}
