import { branch, flow, LoopResult, type FlowBuilder } from "../builder/flow.js";
import { task } from "../builder/task.js";
import type { Workflow } from "../builder/workflow.js";

/**
 * One step of each node kind, as a transformation of a number, with what it
 * does to the value: a delay passes it on, a signal wait is answered with 1.
 */
const KINDS = {
  task: { add: (f: FlowBuilder<number, number>, p: string) => f.then(`${p}t`, (n) => n + 1), apply: (n: number) => n + 1 },
  fork: {
    add: (f: FlowBuilder<number, number>, p: string) =>
      f
        .fork([
          branch(
            `${p}a`,
            task("inc", (n: number) => n + 1),
          ),
          branch(
            `${p}b`,
            task("dbl", (n: number) => n * 2),
          ),
        ])
        .join(`${p}j`, (o) => Object.values(o).reduce((x, y) => x + y, 0)),
    apply: (n: number) => n + 1 + n * 2,
  },
  route: {
    add: (f: FlowBuilder<number, number>, p: string) =>
      f
        .route(`${p}r`, (n) => (n % 2 === 0 ? "even" : "odd"), ["even", "odd"] as const)
        .branch(
          "even",
          task("half", (n: number) => n / 2),
        )
        .defaultBranch(task("triple", (n: number) => n * 3))
        .done(),
    apply: (n: number) => (n % 2 === 0 ? n / 2 : n * 3),
  },
  loop: {
    add: (f: FlowBuilder<number, number>, p: string) =>
      f.loop(`${p}l`, (n) => (n >= 10 ? LoopResult.done(n) : LoopResult.again(n + 4)), { maxIterations: 10 }),
    apply: (n: number) => {
      let x = n;
      while (x < 10) x += 4;
      return x;
    },
  },
  delay: { add: (f: FlowBuilder<number, number>, p: string) => f.delay(`${p}d`, 10), apply: (n: number) => n },
  signal: { add: (f: FlowBuilder<number, number>, p: string) => f.waitForSignal<number>(`${p}s`, `${p}sig`), apply: () => 1 },
  map: {
    add: (f: FlowBuilder<number, number>, p: string) =>
      f
        .map(
          `${p}m`,
          (n) => [n, n + 1],
          task("dbl", (n: number) => n * 2),
        )
        .then(`${p}sum`, (xs) => xs.reduce((x, y) => x + y, 0)),
    apply: (n: number) => n * 2 + (n + 1) * 2,
  },
  race: {
    add: (f: FlowBuilder<number, number>, p: string) =>
      f
        .race(`${p}r`, [
          branch(
            `${p}fast`,
            task("inc", (n: number) => n + 1),
          ),
          branch(
            `${p}slow`,
            flow<number>("slow")
              .delay("day", "1d")
              .then("x100", (n) => n * 100)
              .build(),
          ),
        ])
        .then(`${p}out`, (r) => (r.winner === `${p}fast` ? r.output : -1)),
    apply: (n: number) => n + 1,
  },
  computedDelay: {
    add: (f: FlowBuilder<number, number>, p: string) => f.delay(`${p}cd`, (n) => (n % 2 === 0 ? 10 : "20ms")),
    apply: (n: number) => n,
  },
  waitingLoop: {
    add: (f: FlowBuilder<number, number>, p: string) =>
      f.loop(
        `${p}wl`,
        flow<number>(`${p}body`)
          .delay("nap", 10)
          .then("step", (n) => (n >= 10 ? LoopResult.done(n) : LoopResult.again(n + 4)))
          .build(),
        { maxIterations: 10 },
      ),
    apply: (n: number) => {
      let x = n;
      while (x < 10) x += 4;
      return x;
    },
  },
  subflow: {
    add: (f: FlowBuilder<number, number>, p: string) =>
      f.thenFlow(
        flow<number>(`${p}child`)
          .then("sq", (n) => n * n)
          .build(),
      ),
    apply: (n: number) => n * n,
  },
} as const;

export type NodeKindName = keyof typeof KINDS;

/** Each node kind that holds others, wrapping a sub-flow so that it passes on what the sub-flow gives. */
const CONTAINERS = {
  fork: (f: FlowBuilder<number, number>, inner: Workflow<number, number>) =>
    f.fork([branch("in", inner)]).join("j", (o: Record<string, number>) => o.in!),
  route: (f: FlowBuilder<number, number>, inner: Workflow<number, number>) =>
    f
      .route("r", () => "only", ["only"])
      .branch("only", inner)
      .done(),
  map: (f: FlowBuilder<number, number>, inner: Workflow<number, number>) =>
    f.map("m", (n) => [n, n], inner).then("first", (xs) => (xs[0] === xs[1] ? xs[0]! : -1)),
  race: (f: FlowBuilder<number, number>, inner: Workflow<number, number>) =>
    f.race("r", [branch("in", inner)]).then("out", (r) => r.output),
  loop: (f: FlowBuilder<number, number>, inner: Workflow<number, number>) =>
    f.loop(
      "l",
      flow<number>("body")
        .thenFlow(inner)
        .then("done", (n) => LoopResult.done(n))
        .build(),
      { maxIterations: 2 },
    ),
  subflow: (f: FlowBuilder<number, number>, inner: Workflow<number, number>) => f.thenFlow(inner),
} as const;

export type ContainerName = keyof typeof CONTAINERS;

/** A workflow for every node kind inside every node kind that holds others, with the output it must produce from input 1. */
export function nodeKindNestings(): {
  outer: ContainerName;
  inner: NodeKindName;
  workflow: Workflow<number, number>;
  expected: number;
}[] {
  const containers = Object.keys(CONTAINERS) as ContainerName[];
  const kinds = Object.keys(KINDS) as NodeKindName[];
  return containers.flatMap((outer) =>
    kinds.map((inner) => {
      const body = KINDS[inner].add(flow<number>("inner"), "z").build();
      const workflow = CONTAINERS[outer](flow<number>(`nest-${outer}-${inner}`), body)
        .then("end", (n) => n + 1000)
        .build();
      return { outer, inner, workflow, expected: KINDS[inner].apply(1) + 1000 };
    }),
  );
}

/** A workflow for every ordered pair of node kinds, with the output it must produce from input 1. */
export function nodeKindPairs(): { first: NodeKindName; second: NodeKindName; workflow: Workflow<number, number>; expected: number }[] {
  const names = Object.keys(KINDS) as NodeKindName[];
  return names.flatMap((first) =>
    names.map((second) => {
      const start = flow<number>(`pair-${first}-${second}`);
      const workflow = KINDS[second]
        .add(KINDS[first].add(start, "x"), "y")
        .then("end", (n) => n + 1000)
        .build();
      return { first, second, workflow, expected: KINDS[second].apply(KINDS[first].apply(1)) + 1000 };
    }),
  );
}
