/**
 * How a schedule's ticks become runs: the one place this is written, run by every worker's
 * sweep (and the embedded engine's pump) on each due schedule, and by `schedules.trigger`.
 *
 * A tick is started in three writes, each atomic on its own slot:
 * 1. mark: in the schedule (a compare-and-set on its version), take the tick from where it came
 *    from (the cron's `nextAt` moves on, a trigger or a buffered tick is cleared) and record it as
 *    `firing`, with a token and a short lease;
 * 2. start the run `<schedule id>@<tick, ISO>` (idempotent on its id);
 * 3. settle: while the mark is still ours, record the run as `lastRun` and clear `firing`.
 * Two workers never both hold a tick: only one mark of a version lands. A worker that dies
 * after 1 leaves `firing` behind; once its lease lapses the schedule is due again and the next
 * worker takes over that same tick (a new token), starts the same run id (nothing new if it was
 * started) and settles it. So no tick is lost and none makes two runs, whoever dies when.
 */
import { CronExpressionParser } from "cron-parser";
import { ValidationError, isParkwayError, StaleVersionError } from "../errors.js";
import { newId } from "../ids.js";
import { parkwayMetrics } from "../metrics.js";
import type { ScheduleState, StoredSchedule } from "../store/schedule-types.js";
import { FINISHED_STATUSES, type Store } from "../store/types.js";
import type { Wake } from "./client.js";
import type { WorkflowRegistry } from "./registry.js";

/** How long a marked tick is held before another worker may take it over (its worker died between mark and settle). */
export const TICK_LEASE_MS = 5_000;
/** A tick more than this late when a worker gets to it was missed (no worker ran): `catchup` decides. */
export const CATCHUP_WINDOW_MS = 60_000;
/** How often a tick held by `bufferOne` looks again at whether the previous run finished. */
export const BUFFER_RECHECK_MS = 1_000;
/** Most ticks one call handles, so a schedule cannot hold a worker's sweep for long. */
const MAX_STEPS = 100;

/** What firing needs: the store, the definitions at hand, and a way to wake a run it started. */
export interface TickContext {
  readonly store: Store;
  readonly workflows?: WorkflowRegistry;
  readonly wake: (id: string, wake: Wake) => Promise<void>;
}

/** The instance id of the run a schedule's tick starts. */
export function tickRunId(scheduleId: string, tick: number): string {
  return `${scheduleId}@${new Date(tick).toISOString()}`;
}

/** @throws ValidationError naming `what` when `timezone` is not an IANA time zone this runtime knows */
export function assertTimezone(timezone: unknown, what: string): asserts timezone is string {
  if (typeof timezone !== "string" || timezone.length === 0) throw new ValidationError(`${what}: timezone must be a non-empty string`);
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: timezone });
  } catch {
    throw new ValidationError(`${what}: unknown time zone ${JSON.stringify(timezone)}`, { option: "timezone", value: timezone });
  }
}

/** @throws ValidationError naming `what` when `cron` does not parse */
export function assertCron(cron: unknown, timezone: string | null, what: string): asserts cron is string {
  if (typeof cron !== "string" || cron.trim().length === 0) throw new ValidationError(`${what}: cron must be a non-empty string`);
  try {
    CronExpressionParser.parse(cron, { currentDate: new Date(0), ...(timezone ? { tz: timezone } : {}) }).next();
  } catch (error) {
    throw new ValidationError(`${what}: cron ${JSON.stringify(cron)} does not parse: ${(error as Error).message}`, {
      option: "cron",
      value: cron,
    });
  }
}

/** The first tick strictly after `after` (ms), or null when the expression has no more. */
export function tickAfter(state: Pick<ScheduleState, "cron" | "timezone">, after: number): number | null {
  const expression = CronExpressionParser.parse(state.cron, {
    currentDate: new Date(after),
    ...(state.timezone ? { tz: state.timezone } : {}),
  });
  return expression.hasNext() ? expression.next().getTime() : null;
}

/** The last tick strictly before `before` (ms), or null. */
function tickBefore(state: ScheduleState, before: number): number | null {
  const expression = CronExpressionParser.parse(state.cron, {
    currentDate: new Date(before),
    ...(state.timezone ? { tz: state.timezone } : {}),
  });
  return expression.hasPrev() ? expression.prev().getTime() : null;
}

/** When a schedule at rest (no tick marked) next needs a worker. */
export function scheduleDueAt(state: ScheduleState, now: number): number | null {
  const times = [
    state.triggered !== null ? now : null,
    state.buffered !== null && !state.paused ? now + BUFFER_RECHECK_MS : null,
    state.paused ? null : state.nextAt,
  ].filter((t): t is number => t !== null);
  return times.length === 0 ? null : Math.min(...times);
}

/** What to do next with a schedule. */
type Step =
  | { readonly kind: "idle" }
  /** Write `state` (nothing to start: a skipped or buffered tick, missed ticks dropped). */
  | { readonly kind: "write"; readonly state: ScheduleState }
  /** Mark `state.firing` (with the source of the tick already advanced in `state`), start, settle. */
  | { readonly kind: "start"; readonly state: ScheduleState };

/**
 * Handles what is due of schedule `id`: starts the runs of its due ticks, one after another,
 * as the module comment says. Safe to call from any number of processes at once.
 * Returns the ids of the runs it started or took over.
 */
export async function fireSchedule(ctx: TickContext, id: string): Promise<string[]> {
  const started: string[] = [];
  for (let i = 0; i < MAX_STEPS; i++) {
    const s = await ctx.store.getSchedule(id);
    if (!s) return started;
    const step = await nextStep(ctx, s);
    if (step.kind === "idle") {
      await settleDue(ctx, s);
      return started;
    }
    if (step.kind === "write") {
      await write(ctx, s, step.state, { at: scheduleDueAt(step.state, s.now) });
      continue;
    }
    const marked = await write(ctx, s, step.state, { leaseMs: TICK_LEASE_MS });
    if (marked === null) continue; // another worker changed it first: look again
    const firing = step.state.firing!;
    await startTickRun(ctx, s, step.state, firing.runId);
    started.push(firing.runId);
    await settle(ctx, id, firing.token);
  }
  return started;
}

async function nextStep(ctx: TickContext, s: StoredSchedule): Promise<Step> {
  const { state, now } = s;
  const token = newId();
  if (state.firing !== null) {
    // Marked by a worker still within its lease: its to finish. Past it: take the same tick over.
    if (s.dueAt !== null && s.dueAt > now) return { kind: "idle" };
    return { kind: "start", state: { ...state, firing: { ...state.firing, token } } };
  }
  const fire = (tick: number, manual: boolean, rest: Partial<ScheduleState>): Step => ({
    kind: "start",
    state: { ...state, ...rest, firing: { tick, runId: tickRunId(s.id, tick), token, manual } },
  });
  // An explicit trigger starts its run whatever the overlap policy says.
  if (state.triggered !== null) return fire(state.triggered, true, { triggered: null });
  if (state.buffered !== null && !state.paused && !(await isLive(ctx, state.lastRun)))
    return fire(state.buffered, false, { buffered: null });
  if (state.paused || state.nextAt === null || state.nextAt > now) return { kind: "idle" };

  let tick = state.nextAt;
  let after = tickAfter(state, tick);
  const horizon = now - CATCHUP_WINDOW_MS;
  if (tick < horizon) {
    // Ticks older than the window were missed: none runs with "none", the latest with "latest".
    const firstInWindow = tickAfter(state, horizon - 1);
    if (state.catchup === "none") return { kind: "write", state: { ...state, nextAt: firstInWindow } };
    tick = tickBefore(state, horizon) ?? tick;
    after = firstInWindow;
  }
  if (state.overlap !== "allow" && (await isLive(ctx, state.lastRun))) {
    if (state.overlap === "skip" || state.buffered !== null) {
      return { kind: "write", state: { ...state, nextAt: after, skipped: state.skipped + 1 } };
    }
    return { kind: "write", state: { ...state, nextAt: after, buffered: tick } };
  }
  return fire(tick, false, { nextAt: after });
}

/** Whether run `id` is still live (a deleted run is not). */
async function isLive(ctx: TickContext, id: string | null): Promise<boolean> {
  if (id === null) return false;
  const target = await ctx.store.signalTarget(id);
  return target !== null && !FINISHED_STATUSES.includes(target.status);
}

/** Starts the tick's run (idempotent on its id) with the definition at hand, else the one recorded. */
async function startTickRun(ctx: TickContext, s: StoredSchedule, state: ScheduleState, runId: string): Promise<void> {
  const known = ctx.workflows?.hasName(state.workflow) ? ctx.workflows.latest(state.workflow) : null;
  const { created, header } = await ctx.store.start({
    id: runId,
    workflow: state.workflow,
    hash: known?.hash ?? state.hash,
    input: s.input,
    signals: state.signals,
  });
  if (!created) return;
  parkwayMetrics().runsStarted.add(1, { "parkway.workflow": state.workflow });
  // The run is due in the store already: a lost wake-up only waits for a sweep.
  await ctx.wake(runId, { reason: "start", version: header.version, dueAt: null }).catch(() => undefined);
}

/** Records the marked tick's run as the last one and clears the mark, while the mark is `token`'s. */
async function settle(ctx: TickContext, id: string, token: string): Promise<void> {
  for (;;) {
    const s = await ctx.store.getSchedule(id);
    if (!s || s.state.firing?.token !== token) return; // deleted, or taken over by another worker
    const state: ScheduleState = { ...s.state, lastRun: s.state.firing.runId, firing: null };
    if ((await write(ctx, s, state, { at: scheduleDueAt(state, s.now) })) !== null) return;
  }
}

/** A schedule with nothing to do now: moves its due time to when it next has (or to never). */
async function settleDue(ctx: TickContext, s: StoredSchedule): Promise<void> {
  if (s.state.firing !== null) return;
  const dueAt = scheduleDueAt(s.state, s.now);
  if (dueAt === s.dueAt || (dueAt !== null && s.dueAt !== null && s.dueAt > s.now && dueAt >= s.dueAt)) return;
  await write(ctx, s, s.state, { at: dueAt });
}

/** A compare-and-set write of the schedule; null when another writer came first (or it is gone). */
async function write(
  ctx: TickContext,
  s: StoredSchedule,
  state: ScheduleState,
  due: { readonly at: number | null } | { readonly leaseMs: number },
): Promise<number | null> {
  try {
    return (await ctx.store.putSchedule({ id: s.id, version: s.version, state, input: null, due })).version;
  } catch (error) {
    if (isParkwayError(error, StaleVersionError.code) || isParkwayError(error, "UNKNOWN_SCHEDULE")) return null;
    throw error;
  }
}
