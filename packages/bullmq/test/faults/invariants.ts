/**
 * The promises the fault suite checks once the load has settled, from the
 * store (read directly, not through a worker) and from the ledger. For every
 * run:
 *
 * - it ended in the state the driver asked for, with the right output;
 * - every committed task output came from one recorded execution, was fed the
 *   outputs still committed before it (none was overwritten), and no
 *   execution began after its step was committed or after its run ended;
 *   other successful executions of a committed step are re-runs before commit
 *   (a crash or a lost lease between the task's end and its commit);
 * - every signal the driver got an answer for was consumed exactly once, by
 *   the run and the wait it was sent for, or is still buffered, and consumed
 *   in the order sent;
 * - no `result()` call missed its run's end;
 * - no task began on a worker after it was sent SIGTERM.
 *
 * The features' own promises (maps, races, children, compensations,
 * schedules, limits, repairs, retention, cancels and deadlines reaching
 * running tasks) are in feature-invariants.ts and timing-invariants.ts.
 */
import { decode, type StoredRun } from "@parkway/core";
import type { RedisStore } from "@parkway/redis";
import { checkChildren, checkLimits, checkRepairs, checkRetention, checkSagas, checkSchedules } from "./feature-invariants.js";
import type { ProcessEvent } from "./fleet.js";
import type { Ledger } from "./ledger.js";
import type { Kind, PlannedRun, Repair, ResultOutcome, ScheduleSpan, SentSignal } from "./load.js";
import type { RetentionWatch } from "./retention-watch.js";
import { specOf, type Spec } from "./specs.js";
import { checkTimings } from "./timing-invariants.js";

const FINISHED = ["completed", "failed", "cancelled"];

export interface Report {
  readonly violations: string[];
  readonly counts: Record<string, number>;
}

/** When the faults that excuse a late reaction happened (wall clock). */
export interface FaultTimeline {
  /** Every worker process start, kill, freeze, thaw, SIGTERM and exit. */
  readonly processes: readonly ProcessEvent[];
  /** When Redis went down (killed) and came back, and when every subscriber was dropped. */
  readonly redis: readonly { readonly kind: "down" | "up" | "subscribersDropped"; readonly at: number }[];
}

export interface CheckInput {
  readonly store: RedisStore;
  readonly runs: readonly PlannedRun[];
  readonly signals: readonly SentSignal[];
  readonly results: ReadonlyMap<string, ResultOutcome>;
  readonly ledger: Ledger;
  /** When each run's cancel was acknowledged (wall clock). */
  readonly cancelsAcked: ReadonlyMap<string, number>;
  /** When each run's start was acknowledged (wall clock). */
  readonly startsAcked?: ReadonlyMap<string, number>;
  /** The repairs and deletes the driver sent. */
  readonly repairs?: readonly Repair[];
  /** The schedules that ticked during the load. */
  readonly schedules?: readonly ScheduleSpan[];
  /** When workers were killed or frozen and Redis restarted. */
  readonly faults?: FaultTimeline;
  /** What watching the short-lived runs during the load found. */
  readonly retention?: RetentionWatch;
}

/** One stored run, decoded. */
export interface CheckedRun {
  readonly id: string;
  /** What it was checked as: its kind, or "child", "tick". */
  readonly label: string;
  readonly n: number;
  readonly spec: Spec;
  readonly run: StoredRun;
  readonly outputs: Map<string, Record<string, unknown>>;
}

/** What every check writes to: the violations found and the counts printed. */
export class Checker {
  readonly violations: string[] = [];
  readonly counts: Record<string, number>;
  /** Where each signal id ended up: "run|step" for consumed, "run|buffer:name" for buffered. */
  private readonly found = new Map<string, string[]>();
  /** When each run checked finished (store time of its last write). */
  private readonly finishedAt = new Map<string, number>();

  constructor(readonly input: CheckInput) {
    this.counts = { stepsRerunBeforeCommit: 0, executions: input.ledger.executions.size, signalsConsumed: 0 };
  }

  bump(name: string, by = 1): void {
    this.counts[name] = (this.counts[name] ?? 0) + by;
  }

  violation(text: string): void {
    this.violations.push(text);
  }

  /**
   * Checks one run against its spec: its status, committed keys, result and error, the
   * executions behind its outputs, and where its signals went. Returns it, or null when it is gone.
   */
  async checkRun(
    id: string,
    n: number,
    expect: string,
    specFor: (run: StoredRun, outputs: Map<string, Record<string, unknown>>) => Spec,
    label: string,
  ): Promise<CheckedRun | null> {
    const run = await this.input.store.get(id);
    if (!run) return null;
    const { header } = run;
    this.bump(`${label}:${header.status}`);
    const outputs = decodeOutputs(run);
    const spec = specFor(run, outputs);
    if (FINISHED.includes(header.status)) this.finishedAt.set(id, header.updatedAt);
    if (header.status !== expect) {
      const why = header.error ? ` (${header.error.code ?? header.error.name}: ${header.error.message})` : "";
      this.violation(`${id}: ${header.status}${why}, waiting for ${JSON.stringify(header.waits)}; expected ${expect}`);
    }
    this.checkOutputs(id, n, spec, run, outputs);
    this.checkExecutions(id, spec, run, outputs);
    await this.placeSignals(id, spec, outputs);
    return { id, label, n, spec, run, outputs };
  }

  private checkOutputs(id: string, n: number, spec: Spec, run: StoredRun, outputs: Map<string, Record<string, unknown>>): void {
    const keys = [...outputs.keys()].sort();
    const { status, error } = run.header;
    if (status === "completed" || (spec.partial === undefined && FINISHED.includes(status))) {
      if (keys.join() !== [...spec.keys].sort().join())
        this.violation(`${id}: committed keys ${keys.join()}; expected ${spec.keys.join()}`);
    } else {
      const extra = keys.filter((k) => !(spec.partial ?? spec.keys).includes(k));
      if (extra.length > 0) this.violation(`${id} (${status}): committed ${extra.join()}, which it must never reach`);
    }
    if (status === "completed") {
      const result = run.result === null ? null : (decode(run.result, "result") as { v?: unknown });
      const expected = spec.result?.(n, outputs);
      if (result?.v !== expected) this.violation(`${id}: result ${JSON.stringify(result)}; expected v=${expected}`);
    }
    if (spec.error && status === "failed" && error?.code !== spec.error) {
      this.violation(`${id}: failed with ${JSON.stringify(error)}; expected ${spec.error}`);
    }
  }

  private checkExecutions(id: string, spec: Spec, run: StoredRun, outputs: Map<string, Record<string, unknown>>): void {
    // A child run's input is its parent's output: its tokens count as committed too.
    const input = decode(run.input, "input");
    const committedTokens = new Set<string>(["input", ...tokensIn(input), ...[...outputs.values()].flatMap(tokensIn)]);
    for (const key of spec.tasks) {
      const executions = this.input.ledger.byStep.get(`${id}|${key}`) ?? [];
      const committed = outputs.get(key);
      if (committed === undefined) continue;
      const token = typeof committed.t === "string" ? committed.t : JSON.stringify(committed);
      const source = executions.find((e) => e.x === token);
      if (!source || source.end !== "ok") {
        this.violation(`${id}|${key}: the committed output (${token}) came from no recorded successful execution`);
      } else if (!spec.prunedInputs?.includes(key)) {
        // A delay passes its input on, a join consumes both branches: each token must still be committed.
        const stale = source.consumed.filter((t) => !committedTokens.has(t));
        if (stale.length > 0) {
          this.violation(`${id}|${key}: its committed execution consumed ${stale.join()}, no longer committed (an output was overwritten)`);
        }
      }
      this.bump("stepsRerunBeforeCommit", executions.filter((e) => e.x !== token && e.end === "ok").length);
    }
  }

  /** Notes where each of the run's signals went: consumed by a wait (of the right name), or still buffered. */
  private async placeSignals(id: string, spec: Spec, outputs: Map<string, Record<string, unknown>>): Promise<void> {
    const { store } = this.input;
    for (const [key, name] of spec.waits ?? []) {
      const sig = outputs.get(key)?.sig;
      if (typeof sig !== "string" || sig === "fallback") continue;
      this.place(sig, `${id}|${key}`);
      const sent = this.input.signals.find((s) => s.sig === sig);
      if (sent && sent.name !== name) this.violation(`${id}|${key}: waits for "${name}" and took signal ${sig}, sent as "${sent.name}"`);
    }
    for (const name of new Set((spec.waits ?? []).map(([, name]) => name))) {
      for (const bytes of await store.redis.lrangeBuffer(store.layoutOf(id).signals(id, name), 0, -1)) {
        const payload = decode(new Uint8Array(bytes), "buffered signal") as { sig?: string };
        this.place(String(payload.sig), `${id}|buffer:${name}`);
      }
    }
  }

  private place(sig: string, where: string): void {
    this.found.set(sig, [...(this.found.get(sig) ?? []), where]);
  }

  /** Every signal the driver sent against where it was found. */
  checkSignals(): void {
    const { signals } = this.input;
    const sent = new Map(signals.map((s) => [s.sig, s]));
    for (const s of signals) {
      const places = this.found.get(s.sig) ?? [];
      this.bump(`signals:${s.outcome}`);
      if (s.retries > 0) this.bump("signalsRetried");
      const wrongRun = places.filter((p) => !p.startsWith(`${s.run}|`));
      if (wrongRun.length > 0) this.violation(`signal ${s.sig} turned up in another run: ${wrongRun.join()}`);
      if (s.outcome === "acked" && places.length !== 1) {
        this.violation(`signal ${s.sig} to ${s.run} was acknowledged, and found ${places.length} times: ${places.join() || "nowhere"}`);
      }
      if (s.outcome !== "acked" && places.length > 1) this.violation(`signal ${s.sig} (${s.outcome}) found ${places.length} times`);
      if (s.outcome === "rejected") this.violation(`signal ${s.sig} to ${s.run} was rejected with ${s.code}`);
      if (places.some((p) => !p.includes("|buffer:"))) this.bump("signalsConsumed");
      else if (places.length > 0) this.bump("signalsBuffered");
    }
    for (const [sig, places] of this.found) if (!sent.has(sig)) this.violation(`signal ${sig} was never sent, yet is at ${places.join()}`);
    // First in, first out: a run's "first" wait consumed a signal sent before its "second" wait's.
    for (const [sig, places] of this.found) {
      const s = sent.get(sig);
      if (!s || !places.includes(`${s.run}|second`)) continue;
      const first = [...this.found].find(([, p]) => p.includes(`${s.run}|first`));
      const firstSent = first ? sent.get(first[0]) : undefined;
      if (firstSent && firstSent.seq > s.seq) this.violation(`${s.run}: signals were consumed out of order (${first![0]} after ${sig})`);
    }
  }

  /** What every execution saw when it began. */
  checkLedger(): void {
    for (const e of this.input.ledger.executions.values()) {
      if (e.committedAtStart) this.violation(`${e.run}|${e.key}: execution ${e.x} began after the step was committed`);
      // The probe reads the store a moment after the task began: a run that ended meanwhile (its
      // timeout aborted the task without waiting for it) was seen ended, although the task began first.
      const ended = this.finishedAt.get(e.run);
      if (e.statusAtStart !== null && FINISHED.includes(e.statusAtStart)) {
        if (ended === undefined || e.began > ended)
          this.violation(`${e.run}|${e.key}: execution ${e.x} began after the run was ${e.statusAtStart}`);
        else this.bump("executionsTheRunsEndOvertook");
      }
      if (e.statusAtStart !== "running") this.bump("executionsOfAFencedWorker");
      if (e.afterSigterm) this.violation(`${e.run}|${e.key}: execution ${e.x} began after its worker was sent SIGTERM`);
    }
  }

  checkResult(plan: PlannedRun, status: string): void {
    if (!FINISHED.includes(status)) return;
    const seen = this.input.results.get(plan.id);
    if (!seen) this.violation(`${plan.id}: result() never returned, although the run is ${status}`);
    else if (seen.status !== status) this.violation(`${plan.id}: result() said ${seen.status}, the store says ${status}`);
  }
}

export async function checkInvariants(input: CheckInput): Promise<Report> {
  const checker = new Checker(input);
  const checked = new Map<Kind, CheckedRun[]>();
  for (const plan of input.runs) {
    const run = await checker.checkRun(plan.id, plan.n, plan.expect, (r, outputs) => specOf(plan.kind, r.header.hash, outputs), plan.kind);
    if (!run) {
      // A short-lived run may be gone (its retention passed, or it was deleted or purged): checkRetention says whether rightly.
      if (plan.kind !== "ephemeral") checker.violation(`${plan.id}: the run is gone from the store`);
      continue;
    }
    checked.set(plan.kind, [...(checked.get(plan.kind) ?? []), run]);
    checker.checkResult(plan, run.run.header.status);
  }
  const of = (kind: Kind) => checked.get(kind) ?? [];
  await checkChildren(checker, of("parent"));
  await checkSagas(checker, of("saga"));
  await checkSchedules(checker);
  await checkLimits(checker, of("limited"), of("rated"));
  checkRepairs(checker, [...of("rewind"), ...of("migrate"), ...of("retried")]);
  await checkRetention(checker);
  checkTimings(checker, checked);
  checker.checkSignals();
  checker.checkLedger();
  return { violations: checker.violations, counts: checker.counts };
}

function decodeOutputs(run: StoredRun): Map<string, Record<string, unknown>> {
  const outputs = new Map<string, Record<string, unknown>>();
  for (const [key, bytes] of run.outputs) outputs.set(key, (decode(bytes, key) ?? {}) as Record<string, unknown>);
  return outputs;
}

/** Every execution token and signal a committed value holds, however deep (a child's output, a race's outcome, a map's items). */
function tokensIn(value: unknown): string[] {
  if (value === null || typeof value !== "object") return [];
  const own = value as Record<string, unknown>;
  const here = typeof own.t === "string" ? [own.t] : typeof own.sig === "string" ? [`sig:${own.sig}`] : [];
  return [...here, ...Object.values(own).flatMap(tokensIn)];
}
