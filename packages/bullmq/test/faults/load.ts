/**
 * The fault suite's load: a plan of runs of every fault workflow, and a driver
 * that starts them at a steady rate through `ParkwayClient` and does to them
 * what users do: sends their signals (some before the run waits, some after
 * it parked; a race's two at once from two client processes), cancels some
 * while they run, rewinds, migrates and retries others while workers hold
 * them, deletes and purges short-lived ones, ticks two schedules every second,
 * and awaits every `result()`.
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
import type { SignalRelays } from "./relays.js";

export type Kind =
  | "chain"
  | "fork"
  | "signals"
  | "sleep"
  | "slow"
  | "cancel"
  | "doomed"
  | "parkretry"
  | "timeout"
  | "map"
  | "race"
  | "computed"
  | "loop"
  | "deadline"
  | "parent"
  | "saga"
  | "limited"
  | "rated"
  | "rewind"
  | "migrate"
  | "retried"
  | "ephemeral";
export type Terminal = "completed" | "failed" | "cancelled";

/** The definition each kind's runs start on. */
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
  map: fx.mapped,
  race: fx.raced,
  computed: fx.computed,
  loop: fx.looped,
  deadline: fx.deadline,
  parent: fx.parent,
  saga: fx.saga,
  limited: fx.limited,
  rated: fx.rated,
  rewind: fx.rewound,
  migrate: fx.migratedV1,
  retried: fx.retried,
  ephemeral: fx.ephemeral,
};

/** Share of the load per kind (sums to 1). */
const MIX: Record<Kind, number> = {
  chain: 0.09,
  fork: 0.09,
  signals: 0.09,
  sleep: 0.04,
  slow: 0.05,
  cancel: 0.07,
  doomed: 0.02,
  parkretry: 0.02,
  timeout: 0.03,
  map: 0.06,
  race: 0.06,
  computed: 0.04,
  loop: 0.04,
  deadline: 0.03,
  parent: 0.04,
  saga: 0.04,
  limited: 0.05,
  rated: 0.02,
  rewind: 0.03,
  migrate: 0.03,
  retried: 0.03,
  ephemeral: 0.03,
};

/** Kinds whose runs start in bursts of this many, so their limits are reached. */
const BURSTS: Partial<Record<Kind, number>> = { limited: 6 };

/** What each kind's runs end as. */
const EXPECT: Partial<Record<Kind, Terminal>> = { cancel: "cancelled", doomed: "failed", deadline: "failed", saga: "failed" };

/** The schedules the driver creates (every second) while the load runs. */
export const SCHEDULES = ["tick-a", "tick-b"] as const;
/** The input of every run a schedule starts. */
export const TICK_INPUT = { v: 7, t: "input" } as const;

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
  /** When it was acknowledged (wall clock). */
  ackedAt?: number;
  /** Tries that failed for a reason outside Parkway before the outcome. */
  retries: number;
  /** The typed error of a rejected signal. */
  code?: string;
}

/** How each run's `result()` ended, as the client saw it; `gone`: the run was deleted or expired first. */
export type ResultOutcome = { readonly status: Terminal | "gone"; readonly value?: unknown; readonly code?: string };

/** A repair or removal the driver asked for: rewind, migrate, retry, delete. */
export interface Repair {
  readonly run: string;
  readonly op: "rewind" | "migrate" | "retry" | "delete";
  /** When its first try was sent (wall clock): it cannot have landed before. */
  readonly sentAt: number;
  /** When it was acknowledged (wall clock); null when it was not. */
  ackedAt: number | null;
  /** `acked`; `refused`: typed errors only (codes in `refusals`); `lost`: a try may have landed, no answer came. */
  outcome: "pending" | "acked" | "refused" | "lost";
  /** The typed refusals met on the way (a retry refused while the run still runs, ...). */
  readonly refusals: string[];
}

/** A schedule the driver ran during the load: the ticks it owes, first to last (ms since the epoch). */
export interface ScheduleSpan {
  readonly id: string;
  firstTickAt: number;
  lastTickAt: number;
}

export function planRuns(total: number): PlannedRun[] {
  const kinds = Object.keys(MIX) as Kind[];
  const runs: (PlannedRun & { order: number })[] = [];
  for (const kind of kinds) {
    const count = Math.round(total * MIX[kind]);
    for (let i = 0; i < count; i++) {
      const burst = BURSTS[kind];
      // A burst's runs share their place in the order (and keep theirs among themselves).
      const order = burst ? hash(`${kind}-burst-${Math.floor(i / burst)}`) + i / count : hash(`${kind}-${i}`);
      runs.push({ id: `${kind}-${i}`, kind, n: i, expect: EXPECT[kind] ?? "completed", order });
    }
  }
  // Interleave kinds, deterministically, so every moment of the load has a mix.
  return runs.sort((a, b) => a.order - b.order).map(({ order: _, ...run }) => run);
}

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const jitter = (max: number) => Math.floor(Math.random() * max);

export interface LoadOptions {
  /** Client processes that send the races' signals; without them the driver's own client sends both. */
  readonly relays?: SignalRelays;
}

export class LoadDriver {
  readonly signals: SentSignal[] = [];
  readonly results = new Map<string, ResultOutcome>();
  readonly counts = { started: 0, cancels: 0, transientRetries: 0, purges: 0, purged: 0 };
  /** When (wall clock) each run's cancel was acknowledged by the store. */
  readonly cancelsAcked = new Map<string, number>();
  /** When (wall clock) each run's start was acknowledged by the store. */
  readonly startsAcked = new Map<string, number>();
  readonly repairs: Repair[] = [];
  readonly schedules: ScheduleSpan[] = [];
  private readonly followUps = new Set<Promise<void>>();
  private readonly watchers: Promise<void>[] = [];
  private driving = false;

  constructor(
    private readonly client: ParkwayClient,
    readonly runs: readonly PlannedRun[],
    private readonly options: LoadOptions = {},
  ) {}

  /**
   * Starts every run over `spreadMs`, with its signals, cancels and repairs, while the schedules
   * tick and a purge goes every few seconds; resolves when all were sent and the schedules paused.
   */
  async drive(spreadMs: number): Promise<void> {
    this.driving = true;
    await Promise.all(SCHEDULES.map((id) => this.startSchedule(id)));
    const purging = this.purgeWhileDriving();
    const gap = spreadMs / this.runs.length;
    const began = Date.now();
    for (const [i, run] of this.runs.entries()) {
      const wait = began + i * gap - Date.now();
      if (wait > 0) await sleep(wait);
      this.follow(this.launch(run));
    }
    while (this.followUps.size > 0) await Promise.all([...this.followUps]);
    this.driving = false;
    await purging;
    await Promise.all(this.schedules.map((s) => this.stopSchedule(s)));
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
    this.startsAcked.set(run.id, Date.now());
    this.counts.started++;
    // A retried run fails before it completes: its result is awaited once the retry went in.
    if (run.kind !== "retried") this.watchers.push(this.watch(run.id));
    switch (run.kind) {
      case "signals":
        await sleep(jitter(2500));
        await this.signal(run.id, "item", 1 + (run.n % 7));
        await sleep(jitter(2500));
        return this.signal(run.id, "item", 11 + (run.n % 5));
      case "race":
        // Both at once, from two processes: exactly one wins, the other's signal stays buffered for the later wait.
        await sleep(jitter(1500));
        await Promise.all([this.signal(run.id, "a", 100_000 + run.n, 0), this.signal(run.id, "b", 200_000 + run.n, 1)]);
        return;
      case "cancel":
        await sleep(jitter(2500));
        return this.cancel(run.id);
      case "rewind":
        // Mostly while a worker holds the run in its slow middle step.
        await sleep(300 + jitter(1500));
        // Refused until its first step is committed (a loaded fleet may take a while to start it).
        return this.repair(run.id, "rewind", (r) => r.rewind(run.id, { to: "a" }), ["UNKNOWN_STEP"], 200, 30);
      case "migrate":
        await sleep(200 + jitter(2300));
        return this.repair(run.id, "migrate", (r) => r.migrate(run.id, { to: fx.migratedV2 }), []);
      case "retried":
        // Refused while the run is live; goes in once its step failed it.
        await this.repair(run.id, "retry", (r) => r.retry(run.id), ["RUN_STATE"], 400, 150);
        this.watchers.push(this.watch(run.id));
        return;
      case "ephemeral":
        if (run.n % 2 === 1) return;
        // Refused while the run is live; deletes it once finished (unless its retention did first).
        await sleep(jitter(2500));
        return this.repair(run.id, "delete", (r) => r.delete(run.id), ["RUN_STATE"], 500, 40);
      default:
        return;
    }
  }

  private async cancel(id: string): Promise<void> {
    await this.persist(async () => {
      try {
        await this.client.cancel(id);
      } catch (error) {
        // A cancel tried again after its reply was lost finds the run cancelled by the first try.
        if (!(isParkwayError(error, "RUN_FINISHED") && (error.context.status as string) === "cancelled")) throw error;
      }
    });
    this.cancelsAcked.set(id, Date.now());
    this.counts.cancels++;
  }

  /**
   * Sends a repair until it is acknowledged: a typed refusal in `retryOn` is tried again after
   * `everyMs` (at most `tries` times), any other ends it; a run that finished, was completed
   * or is gone when a retry or delete comes ends it too (nothing left to do).
   */
  private async repair(
    id: string,
    op: Repair["op"],
    call: (client: ParkwayClient) => Promise<unknown>,
    retryOn: readonly string[],
    everyMs = 200,
    tries = 10,
  ): Promise<void> {
    const repair: Repair = { run: id, op, sentAt: Date.now(), ackedAt: null, outcome: "pending", refusals: [] };
    this.repairs.push(repair);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.persist(() => call(this.client));
        repair.outcome = "acked";
        repair.ackedAt = Date.now();
        return;
      } catch (error) {
        if (!isParkwayError(error)) return void (repair.outcome = "lost");
        repair.refusals.push(error.code);
        const over = error.code === "RUN_STATE" && (error.context.status as string) === "completed";
        if (over || error.code === "UNKNOWN_INSTANCE" || !retryOn.includes(error.code) || attempt >= tries) {
          return void (repair.outcome = "refused");
        }
        await sleep(everyMs);
      }
    }
  }

  /** Sends a signal, from the driver's client or through relay `via`. */
  private async signal(run: string, name: string, v: number, via?: number): Promise<void> {
    const sent: SentSignal = {
      sig: `${run}.${randomBytes(4).toString("hex")}`,
      run,
      name,
      seq: this.signals.filter((s) => s.run === run).length,
      outcome: "pending",
      retries: 0,
    };
    this.signals.push(sent);
    const payload = { v, sig: sent.sig };
    const relays = this.options.relays;
    const send =
      via === undefined || !relays
        ? () => this.client.signal(run, name, payload, { deliveryId: sent.sig })
        : async () => {
            const reply = await relays.signal(via, run, name, payload, sent.sig);
            if ("transient" in reply) throw new Error(reply.transient);
            if ("code" in reply) throw new RelayedRefusal(reply.code);
          };
    try {
      await this.persist(send, () => sent.retries++);
      sent.outcome = "acked";
      sent.ackedAt = Date.now();
    } catch (error) {
      const code = error instanceof RelayedRefusal ? error.message : isParkwayError(error) ? error.code : undefined;
      sent.outcome = code === undefined ? "lost" : "rejected";
      if (code !== undefined) sent.code = code;
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
        if (isParkwayError(error, "UNKNOWN_INSTANCE")) return void this.results.set(id, { status: "gone" });
        if (isParkwayError(error, "CLOSED")) return;
        this.counts.transientRetries++;
        await sleep(200);
      }
    }
  }

  /** Creates a schedule ticking every second (a second try finds the first one's). */
  private async startSchedule(id: string): Promise<void> {
    const options = { cron: "* * * * * *", input: TICK_INPUT, overlap: "allow", catchup: "latest" } as const;
    const created = await this.persist(() =>
      this.client.schedules.create(id, fx.ticked, options).catch(async (error: unknown) => {
        if (isParkwayError(error, "SCHEDULE_EXISTS")) return null;
        throw error;
      }),
    );
    // Its first tick: the cron's first after the schedule was made.
    const first =
      created?.nextTickAt ?? Math.floor((await this.persist(() => this.client.schedules.get(id))).createdAt / 1000) * 1000 + 1000;
    this.schedules.push({ id, firstTickAt: first, lastTickAt: first - 1000 });
  }

  /** Pauses a schedule and waits until its last tick is settled; records that tick. */
  private async stopSchedule(span: ScheduleSpan): Promise<void> {
    await this.persist(() => this.client.schedules.pause(span.id));
    for (;;) {
      const s = await this.persist(() => this.client.store.getSchedule(span.id));
      if (s && s.state.firing === null && s.state.nextAt !== null) return void (span.lastTickAt = s.state.nextAt - 1000);
      await sleep(200);
    }
  }

  /** Every 3s while the runs are sent: purges the short-lived workflow's runs finished half a second ago or more. */
  private async purgeWhileDriving(): Promise<void> {
    while (this.driving) {
      await sleep(3000);
      const finishedBefore = Date.now() - 500;
      const purged = await this.persist(() => this.client.purge({ workflow: fx.ephemeral.name, finishedBefore })).catch(() => 0);
      this.counts.purges++;
      this.counts.purged += purged;
    }
  }

  /** Runs `call`, trying again (for up to a minute) while it fails for reasons outside Parkway. */
  private async persist<T>(call: () => Promise<T>, onRetry?: () => void): Promise<T> {
    const deadline = Date.now() + 60_000;
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (error) {
        if (isParkwayError(error) || error instanceof RelayedRefusal || Date.now() > deadline) throw error;
        this.counts.transientRetries++;
        onRetry?.();
        await sleep(Math.min(1000, 50 * attempt));
      }
    }
  }
}

/** A typed refusal a relay process reported (its code as the message). */
class RelayedRefusal extends Error {}
