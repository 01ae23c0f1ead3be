/**
 * `client.schedules`: cron schedules that start runs. A schedule lives in the store (in the
 * partition of its id on Redis) with its next tick as a durable timer in the schedules' due
 * index; every worker's sweep starts the runs of due ticks (see `schedule-ticks.ts` for why no
 * tick is lost or started twice). No process keeps a timer of its own for it.
 */
import { isBuiltWorkflow, type Workflow } from "../builder/workflow.js";
import type { Clock } from "../clock.js";
import { decode, encode } from "../codec/codec.js";
import { UnknownScheduleError, ValidationError } from "../errors.js";
import { checkOptions, optionNames } from "../options.js";
import { checkWorkflowInput } from "../schema.js";
import { signalNamesOf } from "../semantics/signals.js";
import {
  CATCHUP_POLICIES,
  OVERLAP_POLICIES,
  type CatchupPolicy,
  type OverlapPolicy,
  type ScheduleState,
  type StoredSchedule,
} from "../store/schedule-types.js";
import type { Store } from "../store/types.js";
import { assertWellFormed } from "../well-formed.js";
import type { WorkflowRegistry } from "./registry.js";
import { assertCron, assertTimezone, fireSchedule, scheduleDueAt, tickAfter, tickRunId, type TickContext } from "./schedule-ticks.js";

/** How a schedule starts runs. */
export interface ScheduleOptions<In = unknown> {
  /** A cron expression (5 fields, or 6 with seconds first), as `cron-parser` reads it. */
  readonly cron: string;
  /** The IANA time zone the expression is read in (default UTC). */
  readonly timezone?: string;
  /** The input of every run it starts, checked by the workflow's input schema when the schedule is written. */
  readonly input: In;
  /**
   * While the previous run of the schedule is live: `"skip"` starts nothing for the tick (the
   * default), `"bufferOne"` starts one run once it finishes (later ticks meanwhile are skipped),
   * `"allow"` starts the run anyway.
   */
  readonly overlap?: OverlapPolicy;
  /**
   * Ticks more than a minute late (no worker ran): `"none"` drops them (the default),
   * `"latest"` runs the most recent of them. Ticks less late always run, in order.
   */
  readonly catchup?: CatchupPolicy;
}

/** What `update` changes: any of a schedule's options; the workflow stays. */
export type ScheduleUpdate<In = unknown> = Partial<ScheduleOptions<In>>;

/** A schedule as `get` and `list` show it. */
export interface ScheduleView {
  readonly id: string;
  readonly workflow: string;
  readonly cron: string;
  readonly timezone: string | null;
  readonly input: unknown;
  readonly overlap: OverlapPolicy;
  readonly catchup: CatchupPolicy;
  readonly paused: boolean;
  /** The next tick (ms since the epoch); null while paused or when the expression has no more. */
  readonly nextTickAt: number | null;
  /** The run started last (by a tick or a trigger), or null. */
  readonly lastRun: string | null;
  /** A tick held by `bufferOne` until the last run finishes. */
  readonly bufferedTickAt: number | null;
  /** Ticks skipped because the previous run was live. */
  readonly skipped: number;
  readonly createdAt: number;
  readonly updatedAt: number;
}

const SCHEDULE_OPTIONS = optionNames<ScheduleOptions>({ cron: true, timezone: true, input: true, overlap: true, catchup: true });
const LIST_OPTIONS = ["limit", "cursor"] as const;

/** Longest schedule id: its runs' ids add `@` and a 24-character time, and an instance id has at most 512 characters. */
const MAX_SCHEDULE_ID = 480;

/** What the schedules API needs of its client. */
export interface SchedulesHost {
  readonly store: Store;
  readonly clock: Clock;
  readonly maxPayloadBytes: number;
  readonly workflows: WorkflowRegistry | undefined;
  readonly tick: TickContext;
  /** Told after each write, so an embedded engine looks at the schedules' due index again. */
  readonly changed: () => void;
}

/** Create, change and remove cron schedules; each tick starts one run, `<schedule id>@<tick time, ISO>`. */
export class Schedules {
  constructor(private readonly host: SchedulesHost) {}

  /**
   * Creates schedule `id`: from now on each tick of `options.cron` starts one run of `workflow`
   * on `options.input`, with the instance id `<id>@<tick time, ISO>`.
   *
   * Failure semantics: the schedule is one write; from then on its ticks are started by workers
   * (any of them; none needs to stay up), each exactly once however many run and whichever die.
   * @throws ValidationError (a bad id, cron expression, time zone, option or input),
   * ScheduleExistsError (the id exists: change it with `update`)
   */
  async create<In>(id: string, workflow: Workflow<In, unknown> | string, options: ScheduleOptions<NoInfer<In>>): Promise<ScheduleView> {
    assertScheduleId(id);
    checkOptions("schedules.create", options, SCHEDULE_OPTIONS);
    const definition = this.definition(workflow as Workflow | string);
    const now = this.host.clock.now();
    const checked = await this.checkDefinition(id, definition, options);
    const state: ScheduleState = {
      workflow: definition.name,
      hash: definition.hash,
      signals: signalNamesOf(definition.root),
      cron: checked.cron,
      timezone: checked.timezone,
      overlap: checked.overlap ?? "skip",
      catchup: checked.catchup ?? "none",
      paused: false,
      nextAt: tickAfter(checked, now),
      buffered: null,
      triggered: null,
      firing: null,
      lastRun: null,
      skipped: 0,
    };
    await this.host.store.putSchedule({ id, version: 0, state, input: checked.input!, due: { at: scheduleDueAt(state, now) } });
    this.host.changed();
    return this.get(id);
  }

  /**
   * Changes the options given (the cron expression, time zone, input, overlap, catchup); the
   * next tick is recomputed from now when the expression or time zone changes. A tick being
   * started meanwhile still starts.
   * @throws UnknownScheduleError, ValidationError
   */
  async update(id: string, changes: ScheduleUpdate): Promise<ScheduleView> {
    assertScheduleId(id);
    checkOptions("schedules.update", changes, SCHEDULE_OPTIONS);
    await this.change(id, async (s) => {
      const definition = this.host.workflows?.hasName(s.state.workflow) ? this.host.workflows.latest(s.state.workflow) : null;
      const timezone = "timezone" in changes ? changes.timezone : (s.state.timezone ?? undefined);
      const merged = {
        cron: changes.cron ?? s.state.cron,
        ...(timezone === undefined ? {} : { timezone }),
        overlap: changes.overlap ?? s.state.overlap,
        catchup: changes.catchup ?? s.state.catchup,
        input: changes.input,
      };
      const checked = await this.checkDefinition(id, definition, merged, "input" in changes);
      const retimed = checked.cron !== s.state.cron || checked.timezone !== s.state.timezone;
      const state: ScheduleState = {
        ...s.state,
        ...(definition ? { hash: definition.hash, signals: signalNamesOf(definition.root) } : {}),
        cron: checked.cron,
        timezone: checked.timezone,
        overlap: merged.overlap,
        catchup: merged.catchup,
        nextAt: retimed && !s.state.paused ? tickAfter(checked, this.host.clock.now()) : s.state.nextAt,
      };
      return { state, input: checked.input };
    });
    return this.get(id);
  }

  /** Stops starting runs at ticks (until `resume`); a tick being started still starts, and `trigger` still works. @throws UnknownScheduleError */
  async pause(id: string): Promise<ScheduleView> {
    assertScheduleId(id);
    await this.change(id, async (s) => ({ state: { ...s.state, paused: true } }));
    return this.get(id);
  }

  /** Starts runs at ticks again, from the next tick after now: ticks that passed while paused never run. @throws UnknownScheduleError */
  async resume(id: string): Promise<ScheduleView> {
    assertScheduleId(id);
    await this.change(id, async (s) =>
      s.state.paused ? { state: { ...s.state, paused: false, nextAt: tickAfter(s.state, this.host.clock.now()) } } : { state: s.state },
    );
    return this.get(id);
  }

  /**
   * Starts a run of the schedule now, whatever its overlap policy and even while paused, as a
   * tick at this moment (`<id>@<now, ISO>`), and returns its handle. The request is recorded in
   * the schedule first, so a caller that dies right after still gets its run (a worker starts it).
   * Returns the run's instance id (`client.handle(workflow, id)` makes a handle of it).
   * @throws UnknownScheduleError
   */
  async trigger(id: string): Promise<string> {
    assertScheduleId(id);
    const at = this.host.clock.now();
    await this.change(id, async (s) => ({ state: { ...s.state, triggered: at } }));
    await fireSchedule(this.host.tick, id);
    return tickRunId(id, at);
  }

  /** Removes the schedule: no tick starts after this (a tick being started may still). Its runs go on. @throws UnknownScheduleError */
  async delete(id: string): Promise<void> {
    assertScheduleId(id);
    if (!(await this.host.store.deleteSchedule(id))) throw unknownSchedule(id);
  }

  /** @throws UnknownScheduleError */
  async get(id: string): Promise<ScheduleView> {
    assertScheduleId(id);
    const s = await this.host.store.getSchedule(id);
    if (!s) throw unknownSchedule(id);
    return view(s);
  }

  /** Schedules in id order, a page at a time (pass `cursor` back for the next page). */
  async list(
    query: { readonly limit?: number; readonly cursor?: string } = {},
  ): Promise<{ schedules: ScheduleView[]; cursor: string | null }> {
    checkOptions("schedules.list", query, LIST_OPTIONS);
    const limit = query.limit ?? 100;
    if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1 || limit > 10_000) {
      throw new ValidationError(`schedules.list: limit must be an integer from 1 to 10000, got ${String(limit)}`, { option: "limit" });
    }
    if (query.cursor !== undefined) assertScheduleId(query.cursor, "schedules.list: cursor");
    const page = await this.host.store.listSchedules({ limit, ...(query.cursor === undefined ? {} : { cursor: query.cursor }) });
    return { schedules: page.schedules.map(view), cursor: page.cursor };
  }

  private definition(workflow: Workflow | string): Workflow {
    if (typeof workflow === "string") {
      if (!this.host.workflows) throw new ValidationError("schedules.create by workflow name needs the client to be given `workflows`");
      return this.host.workflows.latest(workflow);
    }
    if (!isBuiltWorkflow(workflow)) {
      throw new ValidationError("schedules.create takes a workflow built by flow(...).build() or a registered workflow name");
    }
    return workflow;
  }

  /** Checks cron, time zone, policies and (when given) the input, which is encoded. */
  private async checkDefinition(
    id: string,
    definition: Workflow | null,
    options: Partial<ScheduleOptions>,
    withInput = true,
  ): Promise<{ cron: string; timezone: string | null; overlap?: OverlapPolicy; catchup?: CatchupPolicy; input: Uint8Array | null }> {
    const what = `schedule "${id}"`;
    if (options.timezone !== undefined) assertTimezone(options.timezone, what);
    const timezone = options.timezone ?? null;
    assertCron(options.cron, timezone, what);
    if (options.overlap !== undefined && !OVERLAP_POLICIES.includes(options.overlap)) {
      throw new ValidationError(`${what}: overlap must be one of ${OVERLAP_POLICIES.join(", ")}, got ${JSON.stringify(options.overlap)}`, {
        option: "overlap",
      });
    }
    if (options.catchup !== undefined && !CATCHUP_POLICIES.includes(options.catchup)) {
      throw new ValidationError(`${what}: catchup must be one of ${CATCHUP_POLICIES.join(", ")}, got ${JSON.stringify(options.catchup)}`, {
        option: "catchup",
      });
    }
    let input: Uint8Array | null = null;
    if (withInput) {
      const checked = definition ? await checkWorkflowInput(definition, options.input) : options.input;
      input = encode(checked, { what: `input of ${what}`, maxBytes: this.host.maxPayloadBytes, context: { scheduleId: id } });
    }
    return {
      cron: options.cron,
      timezone,
      input,
      ...(options.overlap ? { overlap: options.overlap } : {}),
      ...(options.catchup ? { catchup: options.catchup } : {}),
    };
  }

  /**
   * Reads, changes and writes the schedule (compare-and-set), again from a fresh read when a
   * worker wrote in between. A tick being started keeps its mark and lease.
   */
  private async change(
    id: string,
    edit: (s: StoredSchedule) => Promise<{ state: ScheduleState; input?: Uint8Array | null }>,
  ): Promise<StoredSchedule> {
    for (;;) {
      const s = await this.host.store.getSchedule(id);
      if (!s) throw unknownSchedule(id);
      const { state, input } = await edit(s);
      const due = state.firing !== null && s.dueAt !== null ? { at: s.dueAt } : { at: scheduleDueAt(state, s.now) };
      try {
        await this.host.store.putSchedule({ id, version: s.version, state, input: input ?? null, due });
        this.host.changed();
        return { ...s, state };
      } catch (error) {
        if ((error as { code?: unknown }).code !== "STALE_VERSION") throw error;
      }
    }
  }
}

function view(s: StoredSchedule): ScheduleView {
  const { state } = s;
  return {
    id: s.id,
    workflow: state.workflow,
    cron: state.cron,
    timezone: state.timezone,
    input: decode(s.input, `input of schedule "${s.id}"`, { scheduleId: s.id }),
    overlap: state.overlap,
    catchup: state.catchup,
    paused: state.paused,
    nextTickAt: state.paused ? null : state.nextAt,
    lastRun: state.lastRun,
    bufferedTickAt: state.buffered,
    skipped: state.skipped,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
  };
}

function unknownSchedule(id: string): UnknownScheduleError {
  return new UnknownScheduleError(`no schedule with id "${id}"`, { scheduleId: id });
}

/**
 * @throws ValidationError unless `id` is a non-empty, well-formed string of at most 480
 * characters without `@` (which separates a schedule's id from the tick time in its runs' ids)
 */
export function assertScheduleId(id: unknown, what = "schedule id"): asserts id is string {
  if (typeof id !== "string" || id.length === 0 || id.length > MAX_SCHEDULE_ID) {
    throw new ValidationError(
      `${what} must be a non-empty string of at most ${MAX_SCHEDULE_ID} characters, got ${typeof id === "string" ? `${id.length} characters` : typeof id}`,
    );
  }
  assertWellFormed(id, what);
  if (id.includes("@"))
    throw new ValidationError(`${what} must not contain "@" (it separates the id from the tick time in run ids): ${JSON.stringify(id)}`);
}
