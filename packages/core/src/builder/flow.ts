import {
  concurrencySpec,
  prioritySpec,
  rateSpec,
  type ConcurrencyLimit,
  type FlowLimitSpecs,
  type LimitSpecs,
  type Priority,
  type RateLimit,
} from "../flow-control/options.js";
import { type Duration, toMs } from "../duration.js";
import { ValidationError } from "../errors.js";
import { checkOptions, integerInRange, optionNames } from "../options.js";
import { assertSchema, type SchemaInput, type SchemaOutput, type StandardSchemaV1, type StepSchemas } from "../schema.js";
import { resolveRetention, type RetentionPolicy } from "../store/retention.js";
import type { RetentionMs } from "../store/types.js";
import { hashTree } from "../tree/hash.js";
import type { Continuation, ForkBranch, StepOptions } from "../tree/nodes.js";
import {
  assertName,
  normalizeOptions,
  task,
  TASK_OPTION_NAMES,
  type Task,
  type TaskContext,
  type TaskFn,
  type TaskOnlyOptions,
  type TaskOptions,
} from "./task.js";
import { isSignalDefinition, type SignalDefinition } from "./signal.js";
import { BUILT, isBuiltWorkflow, type Compensation, type StepFn, type Workflow } from "./workflow.js";

/** What a branch, a route branch or a child step may run: a task or a whole sub-flow. */
export type Target<In, Out> = Task<In, Out> | Workflow<In, Out>;
type OutputOf<T> = T extends Task<never, infer O> ? O : T extends Workflow<never, infer O> ? O : never;

/** One branch of a fork: the branch id keys its output in the join's input. */
export interface Branch<Id extends string, In, Out> {
  readonly id: Id;
  readonly target: Target<In, Out>;
}

/** Declares a fork branch running a task or a sub-flow. */
export function branch<const Id extends string, In, Out>(id: Id, target: Target<In, Out>): Branch<Id, In, Out> {
  return Object.freeze({ id, target });
}

/** The join's input: each branch's output under its branch id. */
export type BranchOutputs<B extends readonly Branch<string, never, unknown>[]> = {
  [E in B[number] as E["id"]]: OutputOf<E["target"]>;
};

/** What a race passes on: one of `{ winner: branchId, output: thatBranch'sOutput }`. */
export type RaceResult<B extends readonly Branch<string, never, unknown>[]> = {
  [K in keyof B]: B[K] extends Branch<infer Id, never, unknown>
    ? { readonly winner: Id; readonly output: OutputOf<B[K]["target"]> }
    : never;
}[number];

/** Options of `map`. */
export interface MapOptions {
  /** Most elements running at once (default 16); an element that waits for a delay or a signal frees its place. */
  readonly concurrency?: number;
  /** Most items the items function may return (default 10,000); more fail the run with `MapLimitError`. */
  readonly maxItems?: number;
}
const MAP_OPTION_NAMES = optionNames<MapOptions>({ concurrency: true, maxItems: true });

/** Options of `loop`. `retry` and `timeout` apply to a body function (or task) only. */
export interface LoopOptions extends TaskOptions {
  /** The most iterations; required. */
  readonly maxIterations: number;
  /** Past `maxIterations`: fail with `LoopLimitError` (the default), or pass on the last value the body was given. */
  readonly onMax?: "fail" | "exitWithLast";
}
const LOOP_OPTION_NAMES = optionNames<LoopOptions>({ maxIterations: true, onMax: true, retry: true, timeout: true });

/** What a computed delay returns: how long to wait, or when to wake. */
export type DelayFn<In> = (input: In) => Duration | Date;

/** What a loop body answers: go around again with a new input, or finish with an output. */
export type LoopStep<Again, Done> = { readonly loop: "again"; readonly value: Again } | { readonly loop: "done"; readonly value: Done };

/** Builders of {@link LoopStep} answers. */
export const LoopResult = Object.freeze({
  again<T>(value: T): LoopStep<T, never> {
    return { loop: "again", value };
  },
  done<T>(value: T): LoopStep<never, T> {
    return { loop: "done", value };
  },
});

type StepSpec =
  | { readonly kind: "task"; readonly task: Task<unknown, unknown> }
  | {
      readonly kind: "fork";
      readonly branches: readonly Branch<string, unknown, unknown>[];
      readonly joinId: string;
      readonly join: StepFn;
      readonly options: TaskOptions;
    }
  | {
      readonly kind: "route";
      readonly id: string;
      readonly keyFn: StepFn;
      readonly keys: readonly string[];
      readonly branches: readonly (readonly [string, Target<unknown, unknown>])[];
      readonly defaultBranch: Target<unknown, unknown> | null;
    }
  | {
      readonly kind: "map";
      readonly id: string;
      readonly items: unknown;
      readonly target: Target<unknown, unknown>;
      readonly options: MapOptions;
    }
  | { readonly kind: "race"; readonly id: string; readonly branches: readonly Branch<string, unknown, unknown>[] }
  | { readonly kind: "loop"; readonly id: string; readonly body: unknown; readonly options: LoopOptions }
  | { readonly kind: "delay"; readonly id: string; readonly duration: unknown }
  | {
      readonly kind: "signal";
      readonly id: string;
      readonly signal: string | SignalDefinition<never, unknown>;
      readonly options: SignalOptions<unknown>;
    }
  | { readonly kind: "flow"; readonly workflow: Workflow<unknown, unknown> }
  | { readonly kind: "child"; readonly id: string; readonly workflow: Workflow<unknown, unknown>; readonly options: ChildOptions<unknown> };

/** Options of `child`. */
export interface ChildOptions<In> {
  /**
   * The child run's instance id, computed from the step's input (a non-empty, well-formed string of
   * at most 512 characters). Default: `<parent id>/<step key>`, the parent id with `%` and `/`
   * written as `%25` and `%2F` (as in `ctx.idempotencyKey`), so two parents never share a child.
   */
  readonly instanceId?: (input: In) => string;
}
const CHILD_OPTION_NAMES = optionNames<ChildOptions<unknown>>({ instanceId: true });

/** Options of `waitForSignal`. */
export interface SignalOptions<P> {
  /** How long to wait; without `onTimeout`, the run then fails with `SignalTimeoutError`. */
  readonly timeout?: Duration;
  /** Passed on as the step's output when the timeout wins. */
  readonly onTimeout?: P;
}
const SIGNAL_OPTION_NAMES = optionNames<SignalOptions<unknown>>({ timeout: true, onTimeout: true });

/** What a flow carries besides its steps. */
interface FlowSettings {
  readonly inputSchema?: StandardSchemaV1;
  readonly timeoutMs?: number;
  readonly limits?: FlowLimitSpecs;
  readonly retention?: RetentionMs;
}

/**
 * The fluent builder. `In` is the workflow's input, `Cur` the output of the
 * last step so far (the next step's input). Each verb returns a new builder,
 * so a partial flow can be shared.
 */
export class FlowBuilder<In, Cur> {
  /** @internal */
  constructor(
    private readonly name: string,
    private readonly steps: readonly StepSpec[],
    private readonly settings: FlowSettings = {},
  ) {}

  private add<Next>(step: StepSpec): FlowBuilder<In, Next> {
    return new FlowBuilder<In, Next>(this.name, [...this.steps, step], this.settings);
  }

  /** Runs a task on the current value. */
  then<Out>(task: Task<Cur, Out>): FlowBuilder<In, Out>;
  /** Runs an inline task on the current value. */
  then<Out>(id: string, fn: TaskFn<Cur, Out>, options?: TaskOptions & TaskOnlyOptions<NoInfer<Out>>): FlowBuilder<In, Out>;
  then<Out>(taskOrId: Task<Cur, Out> | string, fn?: TaskFn<Cur, Out>, options?: TaskOptions & TaskOnlyOptions<Out>): FlowBuilder<In, Out> {
    const t = typeof taskOrId === "string" ? task(taskOrId, fn as TaskFn<Cur, Out>, options) : taskOrId;
    if (t === null || typeof t !== "object" || t.kind !== "task") {
      throw new ValidationError(`flow "${this.name}": then() takes a task or (id, fn, options)`);
    }
    return this.add({ kind: "task", task: t as Task<unknown, unknown> });
  }

  /** Runs the branches concurrently on the current value; finish with `.join(...)`. */
  fork<const B extends readonly Branch<string, Cur, unknown>[]>(branches: B): ForkBuilder<In, Cur, BranchOutputs<B>> {
    return new ForkBuilder((joinId, join, options) =>
      this.add({ kind: "fork", branches: branches as readonly Branch<string, unknown, unknown>[], joinId, join, options }),
    );
  }

  /** Chooses one branch by key; the chosen key is committed, so a resumed run takes the same branch. */
  route<const K extends string>(
    id: string,
    keyFn: (input: Cur, ctx: TaskContext) => NoInfer<K> | Promise<NoInfer<K>>,
    keys: readonly K[],
  ): RouteBuilder<In, Cur, K, never> {
    return new RouteBuilder((branches, defaultBranch) =>
      this.add({ kind: "route", id, keyFn: keyFn as StepFn, keys, branches, defaultBranch }),
    );
  }

  /**
   * Runs `items` on the current value (its array is committed as step `id`), then
   * `target` (a task or a sub-flow) on every item, at most `concurrency` at once;
   * the next step gets the outputs in item order. Element i commits under
   * `id[i]/`, so a resumed run skips the elements that finished; an element that
   * waits for a delay or a signal parks the run while the others go on.
   */
  map<Item, Out>(
    id: string,
    items: (input: Cur, ctx: TaskContext) => readonly Item[] | Promise<readonly Item[]>,
    target: Target<Item, Out>,
    options: MapOptions = {},
  ): FlowBuilder<In, Out[]> {
    return this.add({ kind: "map", id, items, target: target as Target<unknown, unknown>, options });
  }

  /**
   * Runs the branches (tasks or sub-flows) together on the current value; the
   * first to finish wins and the next step gets `{ winner, output }`. The others
   * are cancelled: their tasks aborted, their waits dropped; signals they had not
   * taken stay buffered. The first branch to fail fails the race.
   */
  race<const B extends readonly Branch<string, Cur, unknown>[]>(id: string, branches: B): FlowBuilder<In, RaceResult<B>> {
    return this.add({ kind: "race", id, branches: branches as readonly Branch<string, unknown, unknown>[] });
  }

  /**
   * Runs `body` until it answers `LoopResult.done(x)`, at most `maxIterations` times.
   * A body function (or task) commits iteration n as `id#n`; a sub-flow body, which
   * may delay and wait for signals, commits its steps under `id#n/`.
   */
  loop<Out, const O extends LoopOptions = LoopOptions>(
    id: string,
    body: ((input: Cur, ctx: TaskContext) => LoopStep<Cur, Out> | Promise<LoopStep<Cur, Out>>) | Target<Cur, LoopStep<Cur, Out>>,
    options: O,
  ): FlowBuilder<In, O extends { readonly onMax: "exitWithLast" } ? Out | Cur : Out> {
    return this.add({ kind: "loop", id, body, options });
  }

  /**
   * Waits for `duration`, or for what `when(input)` returns: a duration, or a
   * `Date` to wake at (a past date wakes at once). The current value passes
   * through. Durable runs park instead of waiting, with the deadline fixed when
   * the run first parks.
   */
  delay(id: string, when: Duration | DelayFn<Cur>): FlowBuilder<In, Cur> {
    return this.add({ kind: "delay", id, duration: when });
  }

  /**
   * Waits for `signal` (made by `defineSignal`); its payload (the schema's output, when it has a
   * schema) becomes the next input. Durable runs only.
   */
  waitForSignal<P>(id: string, signal: SignalDefinition<never, P>, options?: SignalOptions<NoInfer<P>>): FlowBuilder<In, P>;
  /** Waits for the signal named `signal`; its payload, typed `P` unchecked, becomes the next input. Durable runs only. */
  waitForSignal<P = unknown>(id: string, signal: string, options?: SignalOptions<P>): FlowBuilder<In, P>;
  waitForSignal(
    id: string,
    signal: string | SignalDefinition<never, unknown>,
    options: SignalOptions<unknown> = {},
  ): FlowBuilder<In, unknown> {
    return this.add({ kind: "signal", id, signal, options });
  }

  /** Runs a child workflow on the current value, inline; its steps commit under `childName/`. */
  thenFlow<Out>(child: Workflow<Cur, Out>): FlowBuilder<In, Out> {
    return this.add({ kind: "flow", workflow: child as Workflow<unknown, unknown> });
  }

  /**
   * Starts `workflow` on the current value as a run of its own (its own id, status, retries and
   * page), linked to this run, and passes on its output. A durable run parks until the child
   * finishes; cancelling it (or its ending any other way while the child runs, as when another
   * branch fails it) cancels the child; a child that fails or is cancelled fails this step
   * with `ChildRunFailedError` (never retried: the child has its own retries). The child's id is
   * `options.instanceId(input)`, else `<parent id>/<step key>`. `runSync`/`runAsync` run the
   * child inline, as part of the same in-process run.
   */
  child<Out>(id: string, workflow: Workflow<Cur, Out>, options: ChildOptions<Cur> = {}): FlowBuilder<In, Out> {
    return this.add({
      kind: "child",
      id,
      workflow: workflow as Workflow<unknown, unknown>,
      options: options as ChildOptions<unknown>,
    });
  }

  /**
   * Compiles the flow to its continuation tree.
   * @throws ValidationError naming the offending id: duplicate ids, an empty
   * fork, race or route without branches, a bad duration, a loop without a positive bound, an empty
   * name, a function missing where one is needed, an unknown option.
   */
  build(): Workflow<In, Cur> {
    assertName(this.name, "flow name");
    if (this.steps.length === 0) throw new ValidationError(`flow "${this.name}" has no steps`, { workflow: this.name });
    const compiler = new Compiler(this.name);
    let next: Continuation | null = null;
    for (let i = this.steps.length - 1; i >= 0; i--) next = compiler.step(this.steps[i]!, next);
    const root = next!;
    const { inputSchema, timeoutMs, limits, retention } = this.settings;
    const workflow: Workflow<In, Cur> = {
      kind: "workflow",
      name: this.name,
      // The tree and the run's timeout only: schemas, like functions, are code, so a new or edited
      // schema keeps the hash and parked runs still find their definition (as a reworded task body does).
      hash: hashTree(this.name, root, timeoutMs),
      root,
      functions: compiler.functions,
      stepSchemas: compiler.schemas,
      compensations: compiler.compensations,
      signalSchemas: compiler.signalSchemas,
      ...(compiler.childWorkflows.size === 0 ? {} : { childWorkflows: compiler.childWorkflows }),
      ...(compiler.limits.size === 0 ? {} : { stepLimits: compiler.limits }),
      ...(limits === undefined ? {} : { limits }),
      ...(inputSchema === undefined ? {} : { inputSchema }),
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
      ...(retention === undefined ? {} : { retention }),
    };
    // Not enumerable, so a spread copy (`{ ...wf, name: "other" }`, whose hash no longer fits) is not built.
    Object.defineProperty(workflow, BUILT, { value: true });
    return Object.freeze(workflow);
  }
}

/** Finishes a fork with its join. */
export class ForkBuilder<In, Cur, Outs> {
  /** @internal */
  constructor(private readonly finish: (joinId: string, join: StepFn, options: TaskOptions) => FlowBuilder<In, unknown>) {}

  /** Runs `fn` on `{ [branchId]: output }` once every branch has an output. */
  join<Out>(id: string, fn: TaskFn<Outs, Out>, options: TaskOptions = {}): FlowBuilder<In, Out> {
    return this.finish(id, fn as StepFn, options) as FlowBuilder<In, Out>;
  }

  /** @internal Keeps `Cur` in the type for error messages. */
  declare readonly input?: Cur;
}

/** Declares a route's branches; finish with `.done()`. */
export class RouteBuilder<In, Cur, K extends string, Outs> {
  /** @internal */
  constructor(
    private readonly finish: (
      branches: readonly (readonly [string, Target<unknown, unknown>])[],
      defaultBranch: Target<unknown, unknown> | null,
    ) => FlowBuilder<In, unknown>,
    private readonly branches: readonly (readonly [string, Target<unknown, unknown>])[] = [],
    private readonly fallback: Target<unknown, unknown> | null = null,
  ) {}

  /** The branch taken when the key function answers `key`. */
  branch<Out>(key: K, target: Target<Cur, Out>): RouteBuilder<In, Cur, K, Outs | Out> {
    return new RouteBuilder(this.finish, [...this.branches, [key, target as Target<unknown, unknown>]], this.fallback);
  }

  /** The branch taken for any key without a branch of its own. */
  defaultBranch<Out>(target: Target<Cur, Out>): RouteBuilder<In, Cur, K, Outs | Out> {
    return new RouteBuilder(this.finish, this.branches, target as Target<unknown, unknown>);
  }

  /** Ends the route; the next step receives the chosen branch's output. */
  done(): FlowBuilder<In, Outs> {
    return this.finish(this.branches, this.fallback) as FlowBuilder<In, Outs>;
  }
}

/** Options of {@link flow}. */
export interface FlowOptions<S extends StandardSchemaV1> {
  /**
   * Checks the workflow's input at `start`, before anything is stored (and at the start
   * of `runSync`/`runAsync`); the first step gets the schema's output. Not part of `workflow.hash`.
   * Run as a branch or child flow of another workflow, its steps' schemas apply, this one does not.
   */
  readonly input: S;
  /**
   * How long a run may take from its start. Past it the run fails with
   * `RunTimeoutError`, whether parked (the store wakes it) or running (its tasks
   * in flight are aborted). Part of `workflow.hash`. Run as a branch or child
   * flow of another workflow, it does not apply.
   */
  readonly timeout?: Duration;
  /** How long this workflow's finished runs are kept, over the namespace's retention. Not part of `workflow.hash`. */
  readonly retention?: RetentionPolicy;
  /**
   * At most `limit` runs of this workflow (per `key(input)`, or in all) executing steps at once,
   * across every worker; a parked run holds no slot. Durable runs only; not part of `workflow.hash`.
   */
  readonly concurrency?: ConcurrencyLimit<SchemaOutput<S>>;
  /** At most `limit` runs started (given their first step) per sliding `period`, per `key(input)` or in all. */
  readonly rateLimit?: RateLimit<SchemaOutput<S>>;
  /**
   * Orders admission among runs waiting on the same limit (this workflow's or a task's): an
   * integer from -1000 to 1000 (default 0), or a function of the input answering one. Higher
   * first; equal priorities are first come, first served.
   */
  readonly priority?: Priority<SchemaOutput<S>>;
}
/** The flow control options of {@link flow}, for a flow whose input has no schema. */
export interface FlowLimitOptions<In> {
  readonly timeout?: Duration;
  readonly retention?: RetentionPolicy;
  readonly concurrency?: ConcurrencyLimit<In>;
  readonly rateLimit?: RateLimit<In>;
  readonly priority?: Priority<In>;
}
const FLOW_OPTION_NAMES = optionNames<FlowOptions<StandardSchemaV1>>({
  input: true,
  timeout: true,
  concurrency: true,
  rateLimit: true,
  priority: true,
  retention: true,
});

/**
 * Starts a flow named `name` whose input is checked by a schema: `start` takes what
 * the schema accepts, the first step gets what it produces.
 * @throws ValidationError when `options.input` is not a Standard Schema, or for an unknown option or a bad timeout.
 */
export function flow<S extends StandardSchemaV1>(name: string, options: FlowOptions<S>): FlowBuilder<SchemaInput<S>, SchemaOutput<S>>;
/**
 * Starts a flow named `name` whose input is `In`.
 * @throws ValidationError for an unknown option, a bad timeout or a bad retention.
 */
export function flow<In>(name: string, options?: FlowLimitOptions<In>): FlowBuilder<In, In>;
export function flow(name: string, options?: Partial<FlowOptions<StandardSchemaV1>>): FlowBuilder<unknown, unknown> {
  if (options === undefined) return new FlowBuilder(name, []);
  checkOptions(`flow "${name}"`, options, FLOW_OPTION_NAMES);
  if (options.input !== undefined) assertSchema(options.input, `flow "${name}": options.input`);
  const settings: FlowSettings = {
    ...(options.input === undefined ? {} : { inputSchema: options.input }),
    ...(options.timeout === undefined ? {} : { timeoutMs: positiveMs(options.timeout, `flow "${name}": timeout`) }),
    ...flowLimits(name, options),
    ...(options.retention === undefined ? {} : { retention: resolveRetention(options.retention, `flow "${name}": retention`) }),
  };
  return new FlowBuilder(name, [], settings);
}

/** The flow's limits and priority, checked; nothing when it has none. */
function flowLimits(name: string, options: Partial<FlowOptions<StandardSchemaV1>>): { readonly limits?: FlowLimitSpecs } {
  const { concurrency, rateLimit, priority } = options;
  if (concurrency === undefined && rateLimit === undefined && priority === undefined) return {};
  const where = `flow "${name}"`;
  return {
    limits: Object.freeze({
      ...(concurrency === undefined ? {} : { concurrency: concurrencySpec(concurrency, where) }),
      ...(rateLimit === undefined ? {} : { rateLimit: rateSpec(rateLimit, where) }),
      ...(priority === undefined ? {} : { priority: prioritySpec(priority, where) }),
    }),
  };
}

function positiveMs(value: unknown, what: string): number {
  const ms = toMs(value, what);
  if (ms === 0) throw new ValidationError(`${what} must be longer than 0`, { value: 0 });
  return ms;
}

/** Turns builder steps into linked nodes, registering each node's function under its ref. */
class Compiler {
  readonly functions = new Map<string, StepFn>();
  /** Payload schemas by ref, beside `functions` and, like them, out of the tree and its hash. */
  readonly schemas = new Map<string, StepSchemas>();
  /** What undoes each task that has a `compensate`, by ref (a loop body function's under `<loop id>#`). */
  readonly compensations = new Map<string, Compensation>();
  /** Payload schemas by signal name: a name is one signal wherever in the run it is waited for. */
  readonly signalSchemas = new Map<string, StandardSchemaV1>();
  /** Task limits by ref, beside `functions`: code, out of the tree and its hash. */
  readonly limits = new Map<string, LimitSpecs>();
  /** The workflows `.child(...)` steps start, by ref: like functions, beside the tree. */
  readonly childWorkflows = new Map<string, Workflow>();
  private readonly ids = new Set<string>();

  constructor(private readonly flowName: string) {}

  step(spec: StepSpec, next: Continuation | null): Continuation {
    switch (spec.kind) {
      case "task":
        this.claim(spec.task.id);
        this.functions.set(spec.task.id, spec.task.fn);
        if (spec.task.schemas) this.schemas.set(spec.task.id, spec.task.schemas);
        if (spec.task.limits) this.limits.set(spec.task.id, spec.task.limits);
        this.compensation(spec.task.id, spec.task);
        return freeze({ kind: "task", id: spec.task.id, ref: spec.task.id, options: spec.task.options, next });
      case "fork": {
        this.claim(spec.joinId);
        const branches = this.branches(spec.branches, `fork joined by "${spec.joinId}"`, spec.joinId);
        this.fn(spec.join, `join "${spec.joinId}"`, spec.joinId);
        this.functions.set(spec.joinId, spec.join);
        const options = this.options(spec.options, spec.joinId);
        return freeze({ kind: "fork", id: spec.joinId, ref: spec.joinId, branches, options, next });
      }
      case "route":
        return this.route(spec, next);
      case "map":
        return this.map(spec, next);
      case "race": {
        this.claim(spec.id);
        const branches = this.branches(spec.branches, `race "${spec.id}"`, spec.id);
        return freeze({ kind: "race", id: spec.id, ref: spec.id, branches, next });
      }
      case "loop":
        return this.loop(spec, next);
      case "delay": {
        this.claim(spec.id);
        if (typeof spec.duration === "function") {
          this.functions.set(spec.id, spec.duration as StepFn);
          return freeze({ kind: "delay", id: spec.id, ref: spec.id, ms: null, next });
        }
        return freeze({ kind: "delay", id: spec.id, ref: spec.id, ms: toMs(spec.duration, `delay "${spec.id}"`), next });
      }
      case "signal": {
        this.claim(spec.id);
        const signal = isSignalDefinition(spec.signal) ? spec.signal.name : spec.signal;
        assertName(signal, `signal name of step "${spec.id}"`);
        if (isSignalDefinition(spec.signal) && spec.signal.schema) this.signalSchema(signal, spec.signal.schema, `step "${spec.id}"`);
        checkOptions(`waitForSignal "${spec.id}"`, spec.options, SIGNAL_OPTION_NAMES);
        const { timeout } = spec.options;
        const hasFallback = Object.prototype.hasOwnProperty.call(spec.options, "onTimeout");
        return freeze({
          kind: "awaitSignal",
          id: spec.id,
          ref: spec.id,
          signal,
          timeoutMs: timeout === undefined ? null : toMs(timeout, `timeout of step "${spec.id}"`),
          onTimeout: hasFallback ? { value: spec.options.onTimeout } : null,
          next,
        });
      }
      case "child": {
        this.claim(spec.id);
        const where = `child "${spec.id}"`;
        if (!isBuiltWorkflow(spec.workflow)) this.fail(`${where} takes a workflow built by flow(...).build()`, spec.id);
        checkOptions(where, spec.options, CHILD_OPTION_NAMES);
        const computed = spec.options.instanceId !== undefined;
        if (computed) {
          this.fn(spec.options.instanceId, `${where}: instanceId`, spec.id);
          this.functions.set(spec.id, spec.options.instanceId);
        }
        this.childWorkflows.set(spec.id, spec.workflow);
        return freeze({
          kind: "child",
          id: spec.id,
          ref: spec.id,
          workflow: spec.workflow.name,
          ...(computed ? { instanceId: true as const } : {}),
          next,
        });
      }
      case "flow": {
        const child = spec.workflow;
        if (!isBuiltWorkflow(child)) this.fail("thenFlow() takes a workflow built by flow(...).build()");
        this.claim(child.name, "child flow name");
        return this.embed(child, `${child.name}/`, `child flow "${child.name}"`, next);
      }
    }
  }

  /** A fork's or a race's branches, each claiming its id and embedded under it. */
  private branches(given: unknown, where: string, id: string): ForkBranch[] {
    const specBranches: readonly Branch<string, unknown, unknown>[] = Array.isArray(given) ? given : [];
    if (specBranches.length === 0) this.fail(`${where} has no branches`, id);
    return specBranches.map((b) => {
      this.claim(b?.id, "branch id");
      return freeze({ id: b.id, root: this.embed(b.target, `${b.id}/`, `branch "${b.id}"`) });
    });
  }

  private map(spec: Extract<StepSpec, { kind: "map" }>, next: Continuation | null): Continuation {
    this.claim(spec.id);
    const where = `map "${spec.id}"`;
    this.fn(spec.items, `${where}: items`, spec.id);
    checkOptions(where, spec.options, MAP_OPTION_NAMES);
    const concurrency = integerInRange(spec.options.concurrency, `${where}: concurrency`, 16, 1, 10_000);
    const maxItems = integerInRange(spec.options.maxItems, `${where}: maxItems`, 10_000, 1, 1_000_000);
    const body = this.embed(spec.target, `${spec.id}[]/`, `${where} target`);
    this.functions.set(spec.id, spec.items as StepFn);
    const options = this.options({}, spec.id);
    return freeze({ kind: "map", id: spec.id, ref: spec.id, body, concurrency, maxItems, options, next });
  }

  private loop(spec: Extract<StepSpec, { kind: "loop" }>, next: Continuation | null): Continuation {
    this.claim(spec.id);
    const where = `loop "${spec.id}"`;
    checkOptions(where, spec.options, LOOP_OPTION_NAMES);
    const { maxIterations: max, onMax, retry, timeout } = spec.options;
    if (typeof max !== "number" || !Number.isInteger(max) || max < 1) {
      this.fail(`${where} needs maxIterations as a positive integer, got ${String(max)}`, spec.id);
    }
    if (onMax !== undefined && onMax !== "fail" && onMax !== "exitWithLast") {
      this.fail(`${where}: onMax must be "fail" or "exitWithLast", got ${JSON.stringify(onMax) ?? String(onMax)}`, spec.id);
    }
    // Absent unless used, so a loop written before `onMax` and sub-flow bodies existed keeps its hash.
    const exit = onMax === "exitWithLast" ? { onMax } : {};
    const body = spec.body as StepFn | Target<unknown, unknown>;
    if (isBuiltWorkflow(body)) {
      if (retry !== undefined || timeout !== undefined) {
        this.fail(`${where}: retry and timeout apply to a body function; give them to the sub-flow's tasks`, spec.id);
      }
      const root = this.embed(body, `${spec.id}#/`, `${where} body`);
      const options = this.options({}, spec.id);
      return freeze({ kind: "loop", id: spec.id, ref: spec.id, maxIterations: max, options, body: root, ...exit, next });
    }
    const isTask = typeof body === "object" && body?.kind === "task";
    if (!isTask) this.fn(body, `${where}: body`, spec.id, "a function, a task or a workflow built by flow(...).build()");
    this.functions.set(spec.id, isTask ? body.fn : (body as StepFn));
    const options =
      isTask && retry === undefined && timeout === undefined
        ? body.options
        : this.options({ ...(retry === undefined ? {} : { retry }), ...(timeout === undefined ? {} : { timeout }) }, spec.id);
    // Iteration n commits as `<id>#n`: its compensation is found under `<id>#`.
    if (isTask) this.compensation(`${spec.id}#`, body);
    return freeze({ kind: "loop", id: spec.id, ref: spec.id, maxIterations: max, options, ...exit, next });
  }

  private route(spec: Extract<StepSpec, { kind: "route" }>, next: Continuation | null): Continuation {
    this.claim(spec.id);
    this.fn(spec.keyFn, `route "${spec.id}": key function`, spec.id);
    const keys: readonly string[] = Array.isArray(spec.keys) ? spec.keys : [];
    if (keys.length === 0) this.fail(`route "${spec.id}" declares no keys`, spec.id);
    if (new Set(keys).size !== keys.length) this.fail(`route "${spec.id}" declares a key twice`, spec.id);
    if (spec.branches.length === 0 && spec.defaultBranch === null) this.fail(`route "${spec.id}" has no branches`, spec.id);
    const seen = new Set<string>();
    const branches = spec.branches.map(([key, target]) => {
      if (!keys.includes(key)) this.fail(`route "${spec.id}": branch key "${key}" is not among its keys`, spec.id);
      if (seen.has(key)) this.fail(`route "${spec.id}": key "${key}" has two branches`, spec.id);
      seen.add(key);
      return freeze({ key, root: this.embed(target, `${spec.id}[${key}]/`, `route "${spec.id}" branch "${key}"`) });
    });
    const uncovered = keys.filter((k) => !seen.has(k));
    if (uncovered.length > 0 && spec.defaultBranch === null) {
      this.fail(`route "${spec.id}": keys ${uncovered.map((k) => `"${k}"`).join(", ")} have no branch and there is no default`, spec.id);
    }
    const defaultBranch =
      spec.defaultBranch === null ? null : this.embed(spec.defaultBranch, `${spec.id}[*]/`, `route "${spec.id}" default branch`);
    this.functions.set(spec.id, spec.keyFn);
    const options = this.options({}, spec.id);
    return freeze({ kind: "route", id: spec.id, ref: spec.id, keys, branches, defaultBranch, options, next });
  }

  /** Copies a task or a built sub-flow under `prefix`, its last spine node linked to `tail`. */
  private embed(target: Target<unknown, unknown>, prefix: string, where: string, tail: Continuation | null = null): Continuation {
    if (target?.kind === "task") {
      this.functions.set(prefix + target.id, target.fn);
      if (target.schemas) this.schemas.set(prefix + target.id, target.schemas);
      if (target.limits) this.limits.set(prefix + target.id, target.limits);
      this.compensation(prefix + target.id, target);
      return freeze({ kind: "task", id: target.id, ref: prefix + target.id, options: target.options, next: tail });
    }
    if (!isBuiltWorkflow(target)) this.fail(`${where} must be a task or a workflow built by flow(...).build()`);
    for (const [ref, fn] of target.functions) this.functions.set(prefix + ref, fn);
    for (const [ref, schemas] of target.stepSchemas ?? []) this.schemas.set(prefix + ref, schemas);
    for (const [ref, limits] of target.stepLimits ?? []) this.limits.set(prefix + ref, limits);
    for (const [ref, compensation] of target.compensations ?? []) this.compensations.set(prefix + ref, compensation);
    for (const [name, schema] of target.signalSchemas ?? []) this.signalSchema(name, schema, where);
    for (const [ref, child] of target.childWorkflows ?? []) this.childWorkflows.set(prefix + ref, child);
    return requalify(target.root, prefix, tail);
  }

  /** Records what undoes task `task` at `ref`, if it has a `compensate`: its function, with the task's retry policy. */
  private compensation(ref: string, task: Task<unknown, unknown>): void {
    if (task.compensate) this.compensations.set(ref, Object.freeze({ fn: task.compensate as StepFn, options: task.options }));
  }

  /** Records the schema of signal `name`; one name with two different schemas could not tell a sender which to apply. */
  private signalSchema(name: string, schema: StandardSchemaV1, where: string): void {
    const before = this.signalSchemas.get(name);
    if (before !== undefined && before !== schema) {
      this.fail(`signal "${name}" is waited for with two different schemas (at ${where}); define it once with defineSignal and reuse it`);
    }
    this.signalSchemas.set(name, schema);
  }

  private options(options: TaskOptions, id: string): StepOptions {
    checkOptions(`step "${id}"`, options ?? {}, TASK_OPTION_NAMES);
    return normalizeOptions(options ?? {}, `step "${id}"`);
  }

  /** @throws ValidationError naming `what` unless `value` is a function. */
  private fn(value: unknown, what: string, step: string, expected = "a function"): void {
    if (typeof value !== "function") {
      this.fail(`${what} must be ${expected}, got ${value === null ? "null" : Array.isArray(value) ? "an array" : typeof value}`, step);
    }
  }

  private claim(id: unknown, what = "step id"): asserts id is string {
    assertName(id, `${what} in flow "${this.flowName}"`);
    if (this.ids.has(id)) this.fail(`duplicate id "${id}" in flow "${this.flowName}"`, id);
    this.ids.add(id);
  }

  private fail(message: string, step?: string): never {
    throw new ValidationError(message, step === undefined ? { workflow: this.flowName } : { workflow: this.flowName, step });
  }
}

/** Returns a copy of `node`'s tree with every ref under `prefix`, the spine's end linked to `tail`. */
function requalify(node: Continuation, prefix: string, tail: Continuation | null): Continuation {
  const next = node.next === null ? tail : requalify(node.next, prefix, tail);
  const ref = prefix + node.ref;
  switch (node.kind) {
    case "fork":
      return freeze({
        ...node,
        ref,
        next,
        branches: node.branches.map((b) => freeze({ id: b.id, root: requalify(b.root, prefix, null) })),
      });
    case "route":
      return freeze({
        ...node,
        ref,
        next,
        branches: node.branches.map((b) => freeze({ key: b.key, root: requalify(b.root, prefix, null) })),
        defaultBranch: node.defaultBranch === null ? null : requalify(node.defaultBranch, prefix, null),
      });
    case "race":
      return freeze({
        ...node,
        ref,
        next,
        branches: node.branches.map((b) => freeze({ id: b.id, root: requalify(b.root, prefix, null) })),
      });
    case "map":
      return freeze({ ...node, ref, next, body: requalify(node.body, prefix, null) });
    case "loop":
      return node.body ? freeze({ ...node, ref, next, body: requalify(node.body, prefix, null) }) : freeze({ ...node, ref, next });
    default:
      return freeze({ ...node, ref, next });
  }
}

function freeze<T extends object>(value: T): T {
  return Object.freeze(value);
}
