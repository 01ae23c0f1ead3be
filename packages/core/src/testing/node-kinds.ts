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
