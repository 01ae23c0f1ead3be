import { describe, expect, it } from "vitest";
import {
  branch,
  type Continuation,
  type Duration,
  flow,
  LoopResult,
  nodesOf,
  runSync,
  task,
  ValidationError,
  type Workflow,
} from "../src/index.js";

const inc = task("inc", (n: number) => n + 1);
const double = task("double", (n: number) => n * 2);

/** Every ref in the tree, depth first. */
function refs(workflow: Workflow<never, unknown>): string[] {
  return [...nodesOf(workflow.root)].map((n) => n.ref);
}

/** Runs `build` and returns the ValidationError it throws, failing the test if it throws anything else. */
function validationErrorOf(build: () => unknown): ValidationError {
  try {
    build();
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    return e as ValidationError;
  }
  throw new Error("expected a ValidationError, but nothing was thrown");
}

function spine(root: Continuation | null): Continuation[] {
  const out: Continuation[] = [];
  for (let node = root; node; node = node.next) out.push(node);
  return out;
}

describe("build()", () => {
  it("returns a workflow with its name, a hash and a linked root", () => {
    const wf = flow<number>("calc").then(inc).then(double).build();
    expect(wf.name).toBe("calc");
    expect(wf.hash).toMatch(/^[0-9a-f]{32}$/);
    expect(spine(wf.root).map((n) => [n.kind, n.id])).toEqual([
      ["task", "inc"],
      ["task", "double"],
    ]);
    expect(runSync(wf, 4)).toBe(10);
  });

  it("links every verb in order into one continuation tree", () => {
    const wf = flow<number>("all-verbs")
      .then(inc)
      .then("inline", (n) => n * 10)
      .fork([branch("a", inc), branch("b", double)])
      .join("merge", ({ a, b }) => a + b)
      .route("by-parity", (n) => (n % 2 === 0 ? "even" : "odd"), ["even", "odd"] as const)
      .branch("even", inc)
      .defaultBranch(double)
      .done()
      .loop("count", (n) => (n > 0 ? LoopResult.done(n) : LoopResult.again(n + 1)), { maxIterations: 3 })
      .delay("pause", "5m")
      .waitForSignal<string>("approval", "approved", { timeout: "2d" })
      .build();

    const nodes = spine(wf.root);
    expect(nodes.map((n) => n.kind)).toEqual(["task", "task", "fork", "route", "loop", "delay", "awaitSignal"]);
    const [, , fork, route, loop, delay, signal] = nodes;
    expect(fork).toMatchObject({ kind: "fork", id: "merge", branches: [{ id: "a" }, { id: "b" }] });
    expect(route).toMatchObject({ kind: "route", id: "by-parity", keys: ["even", "odd"], branches: [{ key: "even" }] });
    expect(route?.kind === "route" && route.defaultBranch?.ref).toBe("by-parity[*]/double");
    expect(loop).toMatchObject({ kind: "loop", id: "count", maxIterations: 3 });
    expect(delay).toMatchObject({ kind: "delay", id: "pause", ms: 300_000 });
    expect(signal).toMatchObject({ kind: "awaitSignal", id: "approval", signal: "approved", timeoutMs: 172_800_000, onTimeout: null });
    expect(signal?.next).toBeNull();
  });

  it("produces frozen, plain nodes", () => {
    const wf = flow<number>("frozen").then(inc).delay("wait", 10).build();
    for (const node of nodesOf(wf.root)) expect(Object.isFrozen(node)).toBe(true);
    expect(Object.isFrozen(wf)).toBe(true);
    expect(JSON.parse(JSON.stringify(wf.root))).toEqual(wf.root);
  });

  it("normalises task options to milliseconds in the tree", () => {
    const slow = task("slow", (n: number) => n, {
      retry: { maxAttempts: 4, backoff: { initial: "200ms", factor: 3, max: "30s" } },
      timeout: "10s",
    });
    const wf = flow<number>("opts").then(slow).build();
    expect(wf.root).toMatchObject({
      kind: "task",
      options: { maxAttempts: 4, backoff: { initialMs: 200, factor: 3, maxMs: 30_000 }, timeoutMs: 10_000 },
    });
  });

  it("records onTimeout as a value only when it is given", () => {
    const withFallback = flow<number>("s1").waitForSignal("wait", "go", { onTimeout: "late", timeout: 5 }).build();
    const without = flow<number>("s2").waitForSignal("wait", "go").build();
    expect(withFallback.root).toMatchObject({ kind: "awaitSignal", timeoutMs: 5, onTimeout: { value: "late" } });
    expect(without.root).toMatchObject({ kind: "awaitSignal", timeoutMs: null, onTimeout: null });
  });

  it("lets a partial flow be shared: each verb returns a new builder", () => {
    const base = flow<number>("shared").then(inc);
    const a = base.then(double).build();
    const b = base.build();
    expect(refs(a)).toEqual(["inc", "double"]);
    expect(refs(b)).toEqual(["inc"]);
  });
});

describe("refs (commit keys)", () => {
  const label = task("label", (s: string) => `label(${s})`);
  const weigh = task("weigh", (s: string) => s.length);
  const pack = flow<string>("pack")
    .then(label)
    .then("box", (s) => `box(${s})`)
    .build();

  it("qualifies a sub-flow's steps in a branch by the branch id", () => {
    const wf = flow<string>("order")
      .fork([branch("pack", pack), branch("weigh", weigh)])
      .join("merge", (o) => o)
      .build();
    expect(refs(wf)).toEqual(["merge", "pack/label", "pack/box", "weigh/weigh"]);
  });

  it("gives the same sub-flow in two branches two distinct sets of refs", () => {
    const wf = flow<string>("twice")
      .fork([branch("left", pack), branch("right", pack)])
      .join("merge", ({ left, right }) => [left, right])
      .build();
    expect(refs(wf)).toEqual(["merge", "left/label", "left/box", "right/label", "right/box"]);
    expect(new Set(refs(wf)).size).toBe(refs(wf).length);
    expect(runSync(wf, "x")).toEqual(["box(label(x))", "box(label(x))"]);
  });

  it("qualifies nested forks by every enclosing branch", () => {
    const inner = flow<string>("inner")
      .fork([branch("label", label), branch("weigh", weigh)])
      .join("combine", ({ label, weigh }) => `${label}:${weigh}`)
      .build();
    const wf = flow<string>("outer")
      .fork([branch("pack", inner), branch("other", weigh)])
      .join("merge", (o) => o)
      .build();
    expect(refs(wf)).toEqual(["merge", "pack/combine", "pack/label/label", "pack/weigh/weigh", "other/weigh"]);
  });

  it("qualifies route branches by route id and key, and the default branch by [*]", () => {
    const wf = flow<string>("ship")
      .route("by-size", (s) => (s.length > 3 ? "large" : "small"), ["small", "large", "huge"] as const)
      .branch("small", pack)
      .branch("large", label)
      .defaultBranch(weigh)
      .done()
      .build();
    expect(refs(wf)).toEqual(["by-size", "by-size[small]/label", "by-size[small]/box", "by-size[large]/label", "by-size[*]/weigh"]);
  });

  it("qualifies a child flow's steps by the child's name and links it to what follows", () => {
    const child = flow<number>("child").then(inc).then(double).build();
    const wf = flow<number>("parent")
      .then(inc)
      .thenFlow(child)
      .then("last", (n) => n - 1)
      .build();
    expect(refs(wf)).toEqual(["inc", "child/inc", "child/double", "last"]);
    expect(spine(wf.root).map((n) => n.ref)).toEqual(["inc", "child/inc", "child/double", "last"]);
    expect(runSync(wf, 1)).toBe(5);
  });

  it("keeps each node's own id while qualifying its ref", () => {
    const wf = flow<string>("ids")
      .fork([branch("p", pack)])
      .join("j", (o) => o)
      .build();
    const labelNode = [...nodesOf(wf.root)].find((n) => n.ref === "p/label");
    expect(labelNode?.id).toBe("label");
  });

  it("does not change a sub-flow when it is embedded", () => {
    const before = refs(pack);
    flow<string>("user")
      .fork([branch("x", pack)])
      .join("j", (o) => o)
      .build();
    expect(refs(pack)).toEqual(before);
    expect(pack.root.ref).toBe("label");
  });
});

describe("validation", () => {
  it("rejects a duplicate step id within a flow, naming it", () => {
    const e = validationErrorOf(() => flow<number>("dup").then(inc).then(double).then(inc).build());
    expect(e.message).toContain('"inc"');
    expect(e.context.step).toBe("inc");
  });

  it("rejects a step id that repeats across kinds (task and delay)", () => {
    const e = validationErrorOf(() => flow<number>("dup2").then(inc).delay("inc", 5).build());
    expect(e.message).toContain('"inc"');
  });

  it("rejects a branch id equal to another step id", () => {
    const e = validationErrorOf(() =>
      flow<number>("dup3")
        .then("a", (n) => n)
        .fork([branch("a", inc)])
        .join("j", (o) => o)
        .build(),
    );
    expect(e.message).toContain('"a"');
  });

  it("rejects two fork branches with the same id", () => {
    const e = validationErrorOf(() =>
      flow<number>("dup4")
        .fork([branch("same", inc), branch("same", double)])
        .join("j", (o) => o)
        .build(),
    );
    expect(e.message).toContain('"same"');
  });

  it("rejects the same child flow twice via thenFlow, naming the child", () => {
    const child = flow<number>("kid").then(inc).build();
    const e = validationErrorOf(() => flow<number>("parent").thenFlow(child).thenFlow(child).build());
    expect(e.message).toContain('"kid"');
  });

  it("allows the same id in different flows and in a parent and its sub-flow", () => {
    const child = flow<number>("child").then(inc).build();
    expect(() => flow<number>("parent").then(inc).thenFlow(child).build()).not.toThrow();
    expect(() =>
      flow<number>("p2")
        .then(inc)
        .fork([branch("b", child)])
        .join("j", (o) => o.b)
        .build(),
    ).not.toThrow();
  });

  it("rejects an empty fork, naming its join", () => {
    const e = validationErrorOf(() =>
      flow<number>("f")
        .fork([])
        .join("merge", (o) => o)
        .build(),
    );
    expect(e.message).toContain('"merge"');
    expect(e.context.step).toBe("merge");
  });

  it("rejects a route without branches or default, naming it", () => {
    const e = validationErrorOf(() =>
      flow<number>("r")
        .route("pick", () => "a", ["a"] as const)
        .done()
        .build(),
    );
    expect(e.message).toContain('"pick"');
    expect(e.context.step).toBe("pick");
  });

  it("rejects a route that declares no keys, naming it", () => {
    const e = validationErrorOf(() =>
      flow<number>("r")
        .route("pick", () => "a" as never, [])
        .defaultBranch(inc)
        .done()
        .build(),
    );
    expect(e.message).toContain('"pick"');
  });

  it("rejects a route branch whose key is not declared, naming route and key", () => {
    const e = validationErrorOf(() =>
      flow<number>("r")
        .route("pick", () => "a", ["a"] as const)
        .branch("a", inc)
        .branch("b" as "a", double)
        .done()
        .build(),
    );
    expect(e.message).toContain('"pick"');
    expect(e.message).toContain('"b"');
  });

  it("rejects a declared key with no branch when there is no default, naming the key", () => {
    const e = validationErrorOf(() =>
      flow<number>("r")
        .route("pick", () => "a", ["a", "b"] as const)
        .branch("a", inc)
        .done()
        .build(),
    );
    expect(e.message).toContain('"pick"');
    expect(e.message).toContain('"b"');
  });

  it("accepts uncovered declared keys when a default branch exists", () => {
    const wf = flow<number>("r")
      .route("pick", (n) => (n > 0 ? "pos" : "neg"), ["pos", "neg"] as const)
      .branch("pos", inc)
      .defaultBranch(double)
      .done()
      .build();
    expect(runSync(wf, 1)).toBe(2);
    expect(runSync(wf, -3)).toBe(-6);
  });

  it("rejects a key given two branches", () => {
    const e = validationErrorOf(() =>
      flow<number>("r")
        .route("pick", () => "a", ["a"] as const)
        .branch("a", inc)
        .branch("a", double)
        .done()
        .build(),
    );
    expect(e.message).toContain('"a"');
  });

  it.each([
    ["a unit-less string", "10"],
    ["an unknown unit", "5w"],
    ["words", "soon"],
    ["an empty string", ""],
    ["a negative number", -1],
    ["NaN", Number.NaN],
    ["Infinity", Number.POSITIVE_INFINITY],
  ])("rejects a delay with %s as duration, naming the value and the step", (_what, bad) => {
    const e = validationErrorOf(() =>
      flow<number>("d")
        .delay("wait", bad as Duration)
        .build(),
    );
    expect(e.message).toContain(typeof bad === "string" ? JSON.stringify(bad) : String(bad));
    expect(e.message).toContain('"wait"');
  });

  it("rejects a bad signal timeout, naming the value and the step", () => {
    const e = validationErrorOf(() =>
      flow<number>("s")
        .waitForSignal("approval", "approved", { timeout: "2 days" as Duration })
        .build(),
    );
    expect(e.message).toContain('"2 days"');
    expect(e.message).toContain('"approval"');
  });

  it("rejects bad task timeout and backoff durations, naming the value and the task", () => {
    const timeout = validationErrorOf(() => task("t", (n: number) => n, { timeout: "fast" as Duration }));
    expect(timeout.message).toContain('"fast"');
    expect(timeout.message).toContain('"t"');
    const backoff = validationErrorOf(() =>
      task("u", (n: number) => n, { retry: { maxAttempts: 2, backoff: { initial: "1x" as Duration } } }),
    );
    expect(backoff.message).toContain('"1x"');
    expect(backoff.message).toContain('"u"');
  });

  it("rejects a bad join timeout at build, naming the join", () => {
    const e = validationErrorOf(() =>
      flow<number>("j")
        .fork([branch("a", inc)])
        .join("merge", (o) => o, { timeout: "later" as Duration })
        .build(),
    );
    expect(e.message).toContain('"later"');
    expect(e.message).toContain('"merge"');
  });

  it.each([
    ["zero", 0],
    ["a negative bound", -2],
    ["a fraction", 1.5],
    ["a missing bound", undefined],
  ])("rejects a loop with %s as maxIterations, naming the loop", (_what, max) => {
    const e = validationErrorOf(() =>
      flow<number>("l")
        .loop("poll", (n) => LoopResult.done(n), { maxIterations: max as number })
        .build(),
    );
    expect(e.message).toContain('"poll"');
    expect(e.context.step).toBe("poll");
  });

  it("rejects a retry policy without a positive maxAttempts, naming the task", () => {
    const e = validationErrorOf(() => task("flaky", (n: number) => n, { retry: { maxAttempts: 0 } }));
    expect(e.message).toContain('"flaky"');
    expect(e.message).toContain("0");
  });

  it("rejects an empty flow name", () => {
    const e = validationErrorOf(() => flow<number>("").then(inc).build());
    expect(e.message).toMatch(/flow name/);
    expect(e.message).toContain('""');
  });

  it("rejects a lone surrogate (ill-formed UTF-16) in flow names, task and step ids and signal names, naming the field", () => {
    const cases: [() => unknown, RegExp][] = [
      [() => flow<number>("order\ud83e").then(inc).build(), /flow name/],
      [() => task("charge\udc00", (n: number) => n), /task id/],
      [() => flow<number>("x").delay("wait\ud800", 1).build(), /step id/],
      [() => flow<number>("x").waitForSignal("approval", "approved\udbff").build(), /signal name/],
    ];
    for (const [build, field] of cases) expect(validationErrorOf(build).message).toMatch(field);
    expect(flow<number>("order\ud83e\udd20").then(inc).build().name).toBe("order\ud83e\udd20");
  });

  it("rejects a blank task id", () => {
    const e = validationErrorOf(() => task("  ", (n: number) => n));
    expect(e.message).toMatch(/task id/);
    expect(e.message).toContain('"  "');
  });

  it("rejects empty step, branch, join, route, loop, delay and signal names", () => {
    const cases: (() => unknown)[] = [
      () =>
        flow<number>("x")
          .then("", (n) => n)
          .build(),
      () =>
        flow<number>("x")
          .fork([branch("", inc)])
          .join("j", (o) => o)
          .build(),
      () =>
        flow<number>("x")
          .fork([branch("a", inc)])
          .join("", (o) => o)
          .build(),
      () =>
        flow<number>("x")
          .route("", () => "a", ["a"] as const)
          .branch("a", inc)
          .done()
          .build(),
      () =>
        flow<number>("x")
          .loop("", (n) => LoopResult.done(n), { maxIterations: 1 })
          .build(),
      () => flow<number>("x").delay("", 1).build(),
      () => flow<number>("x").waitForSignal("", "go").build(),
    ];
    for (const build of cases) expect(validationErrorOf(build).message).toContain('""');
  });

  it("rejects an empty signal name, naming the step", () => {
    const e = validationErrorOf(() => flow<number>("x").waitForSignal("approval", "").build());
    expect(e.message).toContain('"approval"');
  });

  it("rejects ids containing the characters used to qualify refs", () => {
    for (const bad of ["a/b", "a#1", "a[x]"]) {
      const e = validationErrorOf(() =>
        flow<number>("x")
          .then(bad, (n) => n)
          .build(),
      );
      expect(e.message).toContain(bad);
    }
  });

  it("rejects a flow with no steps, naming it", () => {
    const e = validationErrorOf(() => flow<number>("nothing").build());
    expect(e.message).toContain('"nothing"');
  });

  it("rejects a branch target that is neither a task nor a built workflow", () => {
    const e = validationErrorOf(() =>
      flow<number>("x")
        .fork([branch("b", flow<number>("unbuilt").then(inc) as never)])
        .join("j", (o) => o)
        .build(),
    );
    expect(e.message).toContain('"b"');
  });
});

describe("task compensate", () => {
  it("takes a function, and refuses anything else with a ValidationError naming the option", () => {
    const undo = task("undo-me", (n: number) => n, { compensate: () => {} });
    expect(typeof undo.compensate).toBe("function");
    const error = validationErrorOf(() => task("bad-undo", (n: number) => n, { compensate: "refund" as never }));
    expect(error.message).toContain("compensate must be a function");
    expect(error.context).toMatchObject({ step: "bad-undo", option: "compensate" });
  });

  it("is code, not shape: a workflow's hash is the same with or without it", () => {
    const plain = flow<number>("h")
      .then(task("t", (n: number) => n))
      .build();
    const undoable = flow<number>("h")
      .then(task("t", (n: number) => n, { compensate: () => {} }))
      .build();
    expect(undoable.hash).toBe(plain.hash);
    expect([...(undoable.compensations?.keys() ?? [])]).toEqual(["t"]);
  });
});
