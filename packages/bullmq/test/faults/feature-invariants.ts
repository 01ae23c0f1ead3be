/**
 * The promises of the features beyond plain shapes, checked once the load
 * settled (timings are in timing-invariants.ts):
 *
 * - a child run: exactly one per parent, linked both ways, its outcome the
 *   parent's step, its own steps committed once (the parent's worker was
 *   killed right after starting some of them);
 * - a compensation: each committed exactly once, in reverse commit order,
 *   from an execution fed the output it undoes (workers were killed during some);
 * - a schedule: every tick started exactly one run, none lost, none skipped;
 * - a concurrency limit: never more than its runs executing at once per key,
 *   and no slot still held once every run ended; a rate limit: never more
 *   than twice its admissions began in one period (a task begins a moment after
 *   its admission, so one period of beginnings spans at most two of admissions);
 * - a rewind or a migration: nothing committed by a worker it fenced;
 *   a retry: it went in only once the run failed, and the step ran again;
 * - retention, deletes and purges: no live run lost a key or an index entry,
 *   every run that went had finished, and nothing of it stayed behind.
 */
import { decode, type RunHeader } from "@parkway/core";
import { limitKeys, namespaceKeys } from "@parkway/redis";
import { ephemeral, limited, limitKeyOf, migratedV2, RATE, ticked } from "./fixtures/fault-workflows.mjs";
import type { CheckedRun, Checker } from "./invariants.js";
import type { Execution } from "./ledger.js";
import { KID_SPEC, SAGA_ORDER, TICK_SPEC } from "./specs.js";
import { TICK_INPUT } from "./load.js";
import { lagBefore, processGoneAt } from "./timing-invariants.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every run of `workflow` whose id starts with `prefix`, oldest first. */
async function listAll(checker: Checker, workflow: string, idPrefix?: string): Promise<RunHeader[]> {
  const runs: RunHeader[] = [];
  let cursor: string | undefined;
  do {
    const page = await checker.input.store.list({
      workflow,
      limit: 1000,
      order: "oldest",
      ...(idPrefix ? { idPrefix } : {}),
      ...(cursor ? { cursor } : {}),
    });
    runs.push(...page.runs);
    cursor = page.cursor ?? undefined;
  } while (cursor);
  return runs;
}

export async function checkChildren(checker: Checker, parents: readonly CheckedRun[]): Promise<void> {
  for (const p of parents) {
    const childId = `${p.id}/kid/kid`;
    const child = await checker.checkRun(childId, p.n, "completed", () => KID_SPEC, "child");
    if (!child) {
      if (p.outputs.has("kid/kid")) checker.violation(`${p.id}: its child ${childId} is gone from the store`);
      continue;
    }
    const link = child.run.header.parent;
    if (link?.id !== p.id || link.key !== "kid/kid")
      checker.violation(`${childId}: linked to ${JSON.stringify(link)}; expected ${p.id} kid/kid`);
    const step = p.outputs.get("kid/kid") as { child?: string; status?: string; output?: { v?: number } } | undefined;
    const childResult = child.run.result === null ? null : (decode(child.run.result, "result") as { v?: number });
    if (
      p.run.header.status === "completed" &&
      (step?.child !== childId || step.status !== "completed" || step.output?.v !== childResult?.v)
    ) {
      checker.violation(
        `${p.id}|kid/kid: committed ${JSON.stringify(step)}; its child ${childId} ended with ${JSON.stringify(childResult)}`,
      );
    }
    const kin = await listAll(checker, "f-kid", `${p.id}/`);
    if (kin.length !== 1) checker.violation(`${p.id}: started ${kin.length} child runs (${kin.map((r) => r.id).join()}); expected one`);
  }
}

export async function checkSagas(checker: Checker, sagas: readonly CheckedRun[]): Promise<void> {
  for (const s of sagas) {
    if (s.run.header.status !== "failed") continue;
    if (s.run.header.error?.message !== "doomed by design") {
      checker.violation(`${s.id}: failed with ${JSON.stringify(s.run.header.error)}; expected its own error, "doomed by design"`);
    }
    const order = await checker.input.store.commitOrder(s.id);
    if (order.join() !== SAGA_ORDER.join())
      checker.violation(`${s.id}: committed in the order ${order.join()}; expected ${SAGA_ORDER.join()}`);
    for (const step of ["one", "two"]) {
      const undo = `${step}#compensate`;
      if (s.outputs.get(undo)?.compensated !== true) checker.violation(`${s.id}|${undo}: committed ${JSON.stringify(s.outputs.get(undo))}`);
      const executions = checker.input.ledger.byStep.get(`${s.id}|${undo}`) ?? [];
      checker.bump("compensationExecutions", executions.length);
      if (!executions.some((e) => e.end === "ok")) checker.violation(`${s.id}|${undo}: committed, yet no execution of it ended`);
      const undone = s.outputs.get(step)?.t;
      const strays = executions.filter((e) => typeof undone !== "string" || !e.consumed.includes(undone));
      if (strays.length > 0)
        checker.violation(`${s.id}|${undo}: ${strays.length} execution(s) undid another output than the one committed`);
    }
  }
}

export async function checkSchedules(checker: Checker): Promise<void> {
  const runs = await listAll(checker, ticked.name);
  for (const span of checker.input.schedules ?? []) {
    const expected: string[] = [];
    for (let t = span.firstTickAt; t <= span.lastTickAt; t += 1000) expected.push(`${span.id}@${new Date(t).toISOString()}`);
    const found = runs.filter((r) => r.id.startsWith(`${span.id}@`)).map((r) => r.id);
    checker.bump("scheduleTicks", expected.length);
    const missing = expected.filter((id) => !found.includes(id));
    const extra = found.filter((id) => !expected.includes(id));
    for (const id of missing) checker.violation(`schedule ${span.id}: the tick of ${id} started no run`);
    if (extra.length > 0) checker.violation(`schedule ${span.id}: ${extra.length} run(s) of no tick it owed: ${extra.slice(0, 5).join()}`);
    const schedule = await checker.input.store.getSchedule(span.id);
    if (schedule && schedule.state.skipped > 0) checker.violation(`schedule ${span.id}: ${schedule.state.skipped} tick(s) skipped`);
    for (const id of expected.filter((id) => found.includes(id))) {
      await checker.checkRun(id, TICK_INPUT.v, "completed", () => TICK_SPEC, "tick");
    }
  }
}

/** The limits' keys: each run key of `f-limited`, and the rate-limited task's. */
const LIMITED_KEYS = [0, 1].map((v) => `flow:${limited.name}:${limitKeyOf(v)}`);

export async function checkLimits(checker: Checker, limitedRuns: readonly CheckedRun[], ratedRuns: readonly CheckedRun[]): Promise<void> {
  const { ledger, store } = checker.input;
  // Runs executing steps at once, per key: each execution from its beginning to its end, or to when its process was killed or frozen.
  const events: { key: string; run: string; at: number; delta: number }[] = [];
  for (const r of limitedRuns) {
    for (const e of ["first", "second"].flatMap((k) => ledger.byStep.get(`${r.id}|${k}`) ?? [])) {
      const key = limitKeyOf(r.n);
      events.push({ key, run: r.id, at: e.began, delta: 1 }, { key, run: r.id, at: holdEnd(checker, e), delta: -1 });
    }
  }
  events.sort((a, b) => a.at - b.at || a.delta - b.delta);
  const running = new Map<string, Map<string, number>>();
  const most = new Map<string, number>();
  for (const e of events) {
    const runs = running.get(e.key) ?? new Map<string, number>();
    running.set(e.key, runs);
    const n = (runs.get(e.run) ?? 0) + e.delta;
    if (n === 0) runs.delete(e.run);
    else runs.set(e.run, n);
    most.set(e.key, Math.max(most.get(e.key) ?? 0, runs.size));
    if (e.delta === 1 && runs.size > 2) {
      checker.violation(
        `limit ${e.key} (2): ${runs.size} runs executing at once at ${new Date(e.at).toISOString()}: ${[...runs.keys()].join()}`,
      );
    }
  }
  checker.bump("limitMostAtOnce", Math.max(0, ...most.values()));
  // Every slot came back: once every run ended, no holder's lease runs on.
  const [seconds] = await store.redis.time();
  const now = Number(seconds) * 1000;
  for (const key of LIMITED_KEYS) {
    const held = await store.redis.zcount(limitKeys(store.namespace, key).taken, `(${now}`, "+inf");
    if (held > 0) checker.violation(`limit ${key}: ${held} slot(s) still held after every run ended`);
  }
  // A rate limit of RATE.limit a period: beginnings in any one period.
  const began = ratedRuns
    .flatMap((r) => [0, 1, 2, 3, 4].flatMap((i) => ledger.byStep.get(`${r.id}|calls[${i}]/call`) ?? []))
    .map((e) => e.began)
    .sort((a, b) => a - b);
  let rateMost = 0;
  for (let i = 0, j = 0; j < began.length; j++) {
    while (began[j]! - began[i]! >= RATE.periodMs) i++;
    rateMost = Math.max(rateMost, j - i + 1);
  }
  checker.bump("rateMostInAPeriod", rateMost);
  if (rateMost > 2 * RATE.limit)
    checker.violation(`rate limit ${RATE.limit}/${RATE.periodMs}ms: ${rateMost} calls began within one period`);
}

/** Until when an execution held its run's slot: its end, or when its process stopped (killed, or frozen past its lease). */
function holdEnd(checker: Checker, e: Execution): number {
  const gone = processGoneAt(checker, e.pid, e.began);
  return Math.min(e.ended ?? Number.POSITIVE_INFINITY, gone ?? Number.POSITIVE_INFINITY);
}

export function checkRepairs(checker: Checker, runs: readonly CheckedRun[]): void {
  const repairs = new Map((checker.input.repairs ?? []).map((r) => [`${r.run}|${r.op}`, r]));
  const { byStep } = checker.input.ledger;
  const committedExecution = (r: CheckedRun, key: string) => byStep.get(`${r.id}|${key}`)?.find((e) => e.x === r.outputs.get(key)?.t);
  const heldAt = (r: CheckedRun, at: number) =>
    r.spec.tasks.some((k) => (byStep.get(`${r.id}|${k}`) ?? []).some((e) => e.began < at && (e.ended ?? Number.POSITIVE_INFINITY) > at));
  for (const r of runs) {
    const kind = r.label;
    const repair = repairs.get(`${r.id}|${kind === "retried" ? "retry" : kind}`);
    if (!repair) continue;
    checker.bump(`${repair.op}:${repair.outcome}`);
    checker.bump(`${repair.op}Refusals`, repair.refusals.length);
    if (kind === "rewind" && repair.outcome === "acked") {
      if (heldAt(r, repair.sentAt)) checker.bump("rewoundWhileHeld");
      for (const key of r.spec.tasks) {
        const source = committedExecution(r, key);
        if (source && source.began < repair.sentAt) {
          checker.violation(`${r.id}|${key}: committed by an execution that began before the rewind, on a fenced worker`);
        }
      }
    }
    if (kind === "migrate") {
      const migrated = r.run.header.hash === migratedV2.hash;
      checker.bump(migrated ? "migrated" : "notMigrated");
      if (migrated && repair.outcome === "refused")
        checker.violation(`${r.id}: on the new definition, although every migration was refused`);
      if (!migrated && repair.outcome === "acked") checker.violation(`${r.id}: migrated (acknowledged), yet on the old definition`);
      if (migrated && heldAt(r, repair.sentAt)) checker.bump("migratedWhileHeld");
      const source = committedExecution(r, "b2");
      if (migrated && source && source.began < repair.sentAt)
        checker.violation(`${r.id}|b2: committed by an execution begun before the migration`);
      // The attempt is recorded (the fence) before the task begins: a starved process begins it up to its lag later.
      const after = repair.ackedAt === null ? [] : (byStep.get(`${r.id}|b`) ?? []).filter((e) => e.began > repair.ackedAt!);
      const late = after.filter((e) => e.began - lagBefore(checker, e.pid, e.began) > repair.ackedAt!);
      checker.bump("begunLateByLag:the migration", after.length - late.length);
      if (migrated && late.length > 0)
        checker.violation(`${r.id}|b: the old definition's step began after the migration, on a fenced worker`);
      if (!migrated && (byStep.get(`${r.id}|b2`) ?? []).length > 0) checker.violation(`${r.id}|b2: ran, although the run never moved`);
    }
    if (kind === "retried" && repair.outcome === "acked") {
      const executions = byStep.get(`${r.id}|flaky`) ?? [];
      const failedAt = executions.find((e) => e.end === "failed")?.ended;
      const source = committedExecution(r, "flaky");
      if (failedAt === undefined || failedAt === null) checker.violation(`${r.id}: retried, although its step never failed`);
      else if (source && source.began < failedAt)
        checker.violation(`${r.id}|flaky: committed by an execution begun before it failed the run`);
    }
  }
}

export async function checkRetention(checker: Checker): Promise<void> {
  const { input } = checker;
  const plans = input.runs.filter((p) => p.kind === "ephemeral");
  if (plans.length === 0) return;
  const { store } = input;
  // Every run finished long ago: wait for the last ones' 2s to pass and a sweep to trim their index entries.
  const stillThere = async () => (await Promise.all(plans.map((p) => store.redis.exists(store.layoutOf(p.id).header(p.id))))).some(Boolean);
  for (let i = 0; i < 50 && (await stillThere()); i++) await sleep(200);
  await sleep(1500);
  const deleted = new Set((input.repairs ?? []).filter((r) => r.op === "delete" && r.outcome === "acked").map((r) => r.run));
  for (const plan of plans) {
    const run = await store.get(plan.id);
    if (run) checker.violation(`${plan.id}: still in the store, ${run.header.status}, well past its 2s retention`);
    const finished =
      input.results.get(plan.id)?.status === "completed" || (input.ledger.byStep.get(`${plan.id}|b`) ?? []).some((e) => e.end === "ok");
    if (!finished)
      checker.violation(`${plan.id}: gone, although it never finished (its last step never ended and result() never saw it end)`);
    checker.bump(deleted.has(plan.id) ? "ephemeralDeleted" : "ephemeralExpiredOrPurged");
  }
  // Nothing of a run that went stays behind: no key, no index entry.
  const ids = new Set(plans.map((p) => p.id));
  const left: string[] = [];
  for await (const batch of namespaceKeys(store.redis, store.namespace)) {
    for (const key of batch) if (ownerOf(key, ids)) left.push(key);
  }
  if (left.length > 0) checker.violation(`${left.length} key(s) of gone runs stayed: ${left.slice(0, 5).join(", ")}`);
  for (const layout of store.layouts) {
    for (const index of [layout.status("completed"), layout.workflowStatus(ephemeral.name, "completed")]) {
      const members = await store.redis.zrange(index, 0, -1);
      const stale = members.filter((id) => ids.has(id));
      if (stale.length > 0) checker.violation(`index ${index} still lists ${stale.length} gone run(s): ${stale.slice(0, 5).join()}`);
    }
  }
  for (const finding of input.retention?.violations ?? []) checker.violation(finding);
  for (const [name, n] of Object.entries(input.retention?.counts ?? {})) checker.bump(name, n);
}

/** The run among `ids` a key belongs to: `<kind>:<id>` at the end, or a signal buffer's `sig:<length>:<id>:<name>`. */
function ownerOf(key: string, ids: ReadonlySet<string>): string | undefined {
  const sig = /:sig:(\d+):/.exec(key);
  if (sig) {
    const start = sig.index + sig[0].length;
    const id = key.slice(start, start + Number(sig[1]));
    return ids.has(id) ? id : undefined;
  }
  const id = key.slice(key.lastIndexOf(":") + 1);
  return ids.has(id) ? id : undefined;
}
