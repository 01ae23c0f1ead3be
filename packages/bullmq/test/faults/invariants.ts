/**
 * The promises the fault suite checks once the load has settled, from the
 * store (read directly, not through a worker) and from the ledger:
 *
 * - every run ended in the state the driver asked for, with the right output;
 * - every committed task output came from one recorded execution, was fed the
 *   outputs still committed before it (none was overwritten), and no
 *   execution began after its step was committed or after its run ended;
 *   other successful executions of a committed step are re-runs before commit
 *   (a crash or a lost lease between the task's end and its commit);
 * - every signal the driver got an answer for was consumed exactly once, by
 *   the run it was sent to, or is still buffered, and consumed in the order sent;
 * - no `result()` call missed its run's end;
 * - every cancelled run ended `cancelled`, and none of its tasks began more
 *   than a second after the cancel was acknowledged (the cancel reaches the
 *   worker holding the run, even one restarted or taking it over);
 * - no task began on a worker after it was sent SIGTERM.
 */
import { decode, type StoredRun } from "@parkway/core";
import type { RedisStore } from "@parkway/redis";
import type { Ledger } from "./ledger.js";
import type { Kind, PlannedRun, ResultOutcome, SentSignal } from "./load.js";

interface Spec {
  /** Every commit key of a completed run. */
  readonly keys: readonly string[];
  /** The keys that are recorded tasks (the others are delays and signal waits). */
  readonly tasks: readonly string[];
  /** Keys a run that did not complete may hold. */
  readonly partial?: readonly string[];
  /** The signal waits: commit key and signal name. */
  readonly waits?: readonly (readonly [string, string])[];
  readonly result?: (n: number, outputs: Map<string, Record<string, unknown>>) => number;
}

const SPECS: Record<Kind, Spec> = {
  chain: { keys: ["a", "b", "c"], tasks: ["a", "b", "c"], result: (n) => (n + 1) * 2 + 3 },
  fork: {
    keys: ["a", "left/inc", "right/nap", "right/double", "join"],
    tasks: ["a", "left/inc", "right/double", "join"],
    result: (n) => n + 2 + (n + 1) * 2,
  },
  signals: {
    keys: ["a", "first", "b", "second", "c"],
    tasks: ["a", "b", "c"],
    waits: [
      ["first", "item"],
      ["second", "item"],
    ],
    result: (_, outputs) => Number(outputs.get("second")?.v) + 1,
  },
  sleep: { keys: ["a", "nap", "b"], tasks: ["a", "b"], result: (n) => (n + 1) * 3 },
  slow: {
    keys: ["a", "x/s1", "x/s1b", "y/s2", "y/s2b", "join", "z"],
    tasks: ["a", "x/s1", "x/s1b", "y/s2", "y/s2b", "join", "z"],
    result: (n) => 3 * n + 11,
  },
  cancel: { keys: [], tasks: ["a", "c", "b"], partial: ["a", "c"], waits: [["never", "never"]] },
  doomed: { keys: [], tasks: ["a", "boom", "after"], partial: ["a"] },
  parkretry: { keys: ["a", "flaky"], tasks: ["a", "flaky"], result: (n) => (n + 1) * 5 },
  timeout: { keys: ["a", "maybe", "b"], tasks: ["a", "b"], waits: [["maybe", "ping"]], result: () => 99 },
};

const FINISHED = ["completed", "failed", "cancelled"];

export interface Report {
  readonly violations: string[];
  readonly counts: Record<string, number>;
}

export interface CheckInput {
  readonly store: RedisStore;
  readonly runs: readonly PlannedRun[];
  readonly signals: readonly SentSignal[];
  readonly results: ReadonlyMap<string, ResultOutcome>;
  readonly ledger: Ledger;
  /** When each run's cancel was acknowledged (wall clock). */
  readonly cancelsAcked: ReadonlyMap<string, number>;
}

/** How soon a cancel must reach the worker running the run: no task of the run begins later than this after it. */
const CANCEL_REACH_MS = 1000;

export async function checkInvariants(input: CheckInput): Promise<Report> {
  const violations: string[] = [];
  const counts: Record<string, number> = { stepsRerunBeforeCommit: 0, executions: input.ledger.executions.size, signalsConsumed: 0 };
  const bump = (name: string, by = 1) => (counts[name] = (counts[name] ?? 0) + by);
  /** Where each signal id ended up: "run|step" for consumed, "run|buffer:name" for buffered. */
  const found = new Map<string, string[]>();
  const place = (sig: string, where: string) => found.set(sig, [...(found.get(sig) ?? []), where]);

  for (const plan of input.runs) {
    const spec = SPECS[plan.kind];
    const run = await input.store.get(plan.id);
    if (!run) {
      violations.push(`${plan.id}: the run is gone from the store`);
      continue;
    }
    const { header } = run;
    bump(`${plan.kind}:${header.status}`);
    const outputs = decodeOutputs(run);
    if (header.status !== plan.expect) {
      const why = header.error ? ` (${header.error.code ?? header.error.name}: ${header.error.message})` : "";
      violations.push(`${plan.id}: ${header.status}${why}, waiting for ${JSON.stringify(header.waits)}; expected ${plan.expect}`);
    }
    checkOutputs(plan, spec, run, outputs, violations);
    checkExecutions(plan, spec, outputs, input.ledger, input.cancelsAcked, violations, bump);
    for (const [key, name] of spec.waits ?? []) {
      const sig = outputs.get(key)?.sig;
      if (typeof sig === "string" && sig !== "fallback") place(sig, `${plan.id}|${key}`);
      for (const bytes of await input.store.redis.lrangeBuffer(input.store.keys.signals(plan.id, name), 0, -1)) {
        const payload = decode(new Uint8Array(bytes), "buffered signal") as { sig?: string };
        place(String(payload.sig), `${plan.id}|buffer:${name}`);
      }
    }
    checkResult(plan, input.results.get(plan.id), header.status, violations);
  }
  checkSignals(input.signals, found, violations, bump);
  for (const e of input.ledger.executions.values()) {
    if (e.committedAtStart) violations.push(`${e.run}|${e.key}: execution ${e.x} began after the step was committed`);
    if (e.statusAtStart !== null && FINISHED.includes(e.statusAtStart)) {
      violations.push(`${e.run}|${e.key}: execution ${e.x} began after the run was ${e.statusAtStart}`);
    }
    if (e.statusAtStart !== "running") bump("executionsOfAFencedWorker");
    if (e.afterSigterm) violations.push(`${e.run}|${e.key}: execution ${e.x} began after its worker was sent SIGTERM`);
  }
  return { violations, counts };
}

function decodeOutputs(run: StoredRun): Map<string, Record<string, unknown>> {
  const outputs = new Map<string, Record<string, unknown>>();
  for (const [key, bytes] of run.outputs) outputs.set(key, (decode(bytes, key) ?? {}) as Record<string, unknown>);
  return outputs;
}

function checkOutputs(plan: PlannedRun, spec: Spec, run: StoredRun, outputs: Map<string, unknown>, violations: string[]): void {
  const keys = [...outputs.keys()].sort();
  if (run.header.status === "completed") {
    if (keys.join() !== [...spec.keys].sort().join())
      violations.push(`${plan.id}: committed keys ${keys.join()}; expected ${spec.keys.join()}`);
    const result = run.result === null ? null : (decode(run.result, "result") as { v?: unknown });
    const expected = spec.result?.(plan.n, outputs as Map<string, Record<string, unknown>>);
    if (result?.v !== expected) violations.push(`${plan.id}: result ${JSON.stringify(result)}; expected v=${expected}`);
  } else {
    const extra = keys.filter((k) => !(spec.partial ?? []).includes(k));
    if (extra.length > 0) violations.push(`${plan.id} (${run.header.status}): committed ${extra.join()}, which it must never reach`);
  }
  if (plan.kind === "doomed" && run.header.status === "failed" && run.header.error?.code !== "NON_RETRYABLE") {
    violations.push(`${plan.id}: failed with ${JSON.stringify(run.header.error)}; expected NON_RETRYABLE`);
  }
}

function checkExecutions(
  plan: PlannedRun,
  spec: Spec,
  outputs: Map<string, Record<string, unknown>>,
  ledger: Ledger,
  cancelsAcked: ReadonlyMap<string, number>,
  violations: string[],
  bump: (name: string, by?: number) => void,
): void {
  const committedTokens = new Set<string>(["input"]);
  for (const value of outputs.values()) {
    if (typeof value.t === "string") committedTokens.add(value.t);
    if (typeof value.sig === "string") committedTokens.add(`sig:${value.sig}`);
  }
  for (const key of spec.tasks) {
    const executions = ledger.byStep.get(`${plan.id}|${key}`) ?? [];
    const committed = outputs.get(key);
    if (committed === undefined) continue;
    const token = typeof committed.t === "string" ? committed.t : JSON.stringify(committed);
    const source = executions.find((e) => e.x === token);
    if (!source || source.end !== "ok") {
      violations.push(`${plan.id}|${key}: the committed output (${token}) came from no recorded successful execution`);
    } else {
      // A delay passes its input on, a join consumes both branches: each token must still be committed.
      const stale = source.consumed.filter((t) => !committedTokens.has(t));
      if (stale.length > 0) {
        violations.push(
          `${plan.id}|${key}: its committed execution consumed ${stale.join()}, no longer committed (an output was overwritten)`,
        );
      }
    }
    const reruns = executions.filter((e) => e.x !== token && e.end === "ok").length;
    bump("stepsRerunBeforeCommit", reruns);
  }
  const cancelledAt = cancelsAcked.get(plan.id);
  if (cancelledAt !== undefined) {
    for (const e of spec.tasks.flatMap((key) => ledger.byStep.get(`${plan.id}|${key}`) ?? [])) {
      if (e.end === "aborted") bump("cancelAborts");
      if (e.began > cancelledAt + CANCEL_REACH_MS) {
        violations.push(
          `${plan.id}|${e.key}: attempt ${e.attempt} began ${e.began - cancelledAt}ms after the run's cancel was acknowledged`,
        );
      }
    }
  }
  if (plan.kind === "cancel" && (ledger.byStep.get(`${plan.id}|b`) ?? []).length > 0) {
    violations.push(`${plan.id}|b: ran, although the run was cancelled before its signal could ever come`);
  }
}

function checkSignals(
  signals: readonly SentSignal[],
  found: Map<string, string[]>,
  violations: string[],
  bump: (name: string, by?: number) => void,
): void {
  const sent = new Map(signals.map((s) => [s.sig, s]));
  for (const s of signals) {
    const places = found.get(s.sig) ?? [];
    bump(`signals:${s.outcome}`);
    if (s.retries > 0) bump("signalsRetried");
    const wrongRun = places.filter((p) => !p.startsWith(`${s.run}|`));
    if (wrongRun.length > 0) violations.push(`signal ${s.sig} turned up in another run: ${wrongRun.join()}`);
    if (s.outcome === "acked" && places.length !== 1) {
      violations.push(`signal ${s.sig} to ${s.run} was acknowledged, and found ${places.length} times: ${places.join() || "nowhere"}`);
    }
    if (s.outcome !== "acked" && places.length > 1) violations.push(`signal ${s.sig} (${s.outcome}) found ${places.length} times`);
    if (s.outcome === "rejected") violations.push(`signal ${s.sig} to ${s.run} was rejected with ${s.code}`);
    if (places.some((p) => !p.includes("|buffer:"))) bump("signalsConsumed");
    else if (places.length > 0) bump("signalsBuffered");
  }
  for (const [sig, places] of found) if (!sent.has(sig)) violations.push(`signal ${sig} was never sent, yet is at ${places.join()}`);
  // First in, first out: a run's "first" wait consumed a signal sent before its "second" wait's.
  for (const [sig, places] of found) {
    const s = sent.get(sig);
    if (!s || !places.includes(`${s.run}|second`)) continue;
    const first = [...found].find(([, p]) => p.includes(`${s.run}|first`));
    const firstSent = first ? sent.get(first[0]) : undefined;
    if (firstSent && firstSent.seq > s.seq) violations.push(`${s.run}: signals were consumed out of order (${first![0]} after ${sig})`);
  }
}

function checkResult(plan: PlannedRun, seen: ResultOutcome | undefined, status: string, violations: string[]): void {
  if (!FINISHED.includes(status)) return;
  if (!seen) violations.push(`${plan.id}: result() never returned, although the run is ${status}`);
  else if (seen.status !== status) violations.push(`${plan.id}: result() said ${seen.status}, the store says ${status}`);
}
