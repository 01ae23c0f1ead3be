import { describe, expect, it } from "vitest";
import {
  branch,
  FakeClock,
  flow,
  LoopLimitError,
  LoopResult,
  MapLimitError,
  nodesOf,
  runAsync,
  runSync,
  RunTimeoutError,
  task,
  ValidationError,
} from "../src/index.js";

const inc = task("inc", (n: number) => n + 1);

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

describe("strict builder arguments", () => {
  // Each untyped call as a JavaScript caller (or a cast) could make it.
  const bad = flow<number>("bad") as unknown as Record<string, (...args: unknown[]) => { build(): unknown }>;

  it.each([
    [
      "loop(id, 'nope')",
      () => bad.loop!("l", "nope", { maxIterations: 2 }).build(),
      /loop "l": body must be a function, a task or a workflow/,
    ],
    [
      "loop(id, builtWorkflow) without options",
      () =>
        bad.loop!(
          "l",
          flow("b")
            .then("x", () => 1)
            .build(),
        ).build(),
      /options must be an object/,
    ],
    [
      "route(id, 'nope', keys)",
      () =>
        (bad.route!("r", "nope", ["a"]) as never as { defaultBranch(t: unknown): { done(): { build(): unknown } } })
          .defaultBranch(inc)
          .done()
          .build(),
      /route "r": key function must be a function, got string/,
    ],
    [
      "join(id, null)",
      () => (bad.fork!([branch("a", inc)]) as never as { join(id: string, fn: unknown): { build(): unknown } }).join("j", null).build(),
      /join "j" must be a function, got null/,
    ],
    ["map(id, 'nope', target)", () => bad.map!("m", "nope", inc).build(), /map "m": items must be a function/],
    ["map(id, fn, 'nope')", () => bad.map!("m", () => [], "nope").build(), /map "m" target must be a task or a workflow/],
    ["race(id, [])", () => bad.race!("r", []).build(), /race "r" has no branches/],
    ["delay(id, 'soon')", () => bad.delay!("d", "soon").build(), /delay "d": "soon" is not a duration/],
  ])("%s is a ValidationError at build()", (_what, build, message) => {
    expect(validationErrorOf(build).message).toMatch(message);
  });

  it.each([
    ["a task", () => task("t", (n: number) => n, { priority: 1 } as never), "priority", 'task "t"'],
    ["an inline step", () => flow<number>("f").then("t", (n) => n, { tags: ["x"] } as never), "tags", 'task "t"'],
    ["a flow", () => flow<number>("f", { tags: ["x"] } as never), "tags", 'flow "f"'],
    ["a flow's concurrency", () => flow<number>("f", { concurrency: { limit: 2, max: 3 } as never }), "max", 'flow "f": concurrency'],
    [
      "a task's rateLimit",
      () => task("t", (n: number) => n, { rateLimit: { limit: 2, period: "1s", burst: 3 } as never }),
      "burst",
      'task "t": rateLimit',
    ],

    ["a flow's retention", () => flow<number>("f", { retention: { done: "1d" } } as never), "done", 'flow "f": retention'],
    [
      "a loop",
      () =>
        flow<number>("f")
          .loop("l", (n) => LoopResult.done(n), { maxIterations: 2, until: 1 } as never)
          .build(),
      "until",
      'loop "l"',
    ],
    [
      "a map",
      () =>
        flow<number>("f")
          .map("m", () => [1], inc, { parallel: 2 } as never)
          .build(),
      "parallel",
      'map "m"',
    ],
    [
      "a signal wait",
      () =>
        flow<number>("f")
          .waitForSignal("s", "go", { cron: "* * * * *" } as never)
          .build(),
      "cron",
      'waitForSignal "s"',
    ],
    [
      "a join",
      () =>
        flow<number>("f")
          .fork([branch("a", inc)])
          .join("j", (o) => o.a, { limiter: 1 } as never)
          .build(),
      "limiter",
      'step "j"',
    ],
    ["a retry policy", () => task("t", (n: number) => n, { retry: { maxAttempts: 2, jitter: true } as never }), "jitter", "retry"],
    [
      "a backoff",
      () => task("t", (n: number) => n, { retry: { maxAttempts: 2, backoff: { startDelay: 1 } as never } }),
      "startDelay",
      "retry.backoff",
    ],
  ])("an unknown option of %s is a ValidationError naming it and the known ones", (_what, make, option, where) => {
    const error = validationErrorOf(make);
    expect(error.message).toContain(`unknown option "${option}"`);
    expect(error.message).toContain(where);
    expect(error.message).toContain("known options:");
    expect(error.context.option).toBe(option);
  });

  it("refuses a bad onMax, maxIterations, concurrency, maxItems and flow timeout, naming each", () => {
    expect(
      validationErrorOf(() =>
        flow<number>("f")
          .loop("l", (n) => LoopResult.done(n), { maxIterations: 2, onMax: "stop" as never })
          .build(),
      ).message,
    ).toMatch(/onMax must be "fail" or "exitWithLast"/);
    expect(
      validationErrorOf(() =>
        flow<number>("f")
          .loop("l", (n) => LoopResult.done(n), { maxIterations: 0 })
          .build(),
      ).message,
    ).toMatch(/maxIterations/);
    expect(
      validationErrorOf(() =>
        flow<number>("f")
          .map("m", () => [1], inc, { concurrency: 0 })
          .build(),
      ).message,
    ).toMatch(/map "m": concurrency/);
    expect(
      validationErrorOf(() =>
        flow<number>("f")
          .map("m", () => [1], inc, { maxItems: 1.5 })
          .build(),
      ).message,
    ).toMatch(/map "m": maxItems/);
    expect(validationErrorOf(() => flow<number>("f", { timeout: "soon" as never })).message).toMatch(/flow "f": timeout/);
    expect(validationErrorOf(() => flow<number>("f", { timeout: 0 })).message).toMatch(/flow "f": timeout must be longer than 0/);
  });

  it("refuses retry and timeout on a loop whose body is a sub-flow", () => {
    const body = flow<number>("b")
      .then("x", (n) => LoopResult.done(n))
      .build();
    expect(
      validationErrorOf(() =>
        flow<number>("f")
          .loop("l", body, { maxIterations: 2, retry: { maxAttempts: 2 } })
          .build(),
      ).message,
    ).toMatch(/retry and timeout apply to a body function/);
  });
});

describe("the tree and the hash of the new shapes", () => {
  const element = flow<number>("el")
    .then("work", (n) => n * 2)
    .build();
  const mapped = (concurrency: number) =>
    flow<number>("m")
      .map("each", (n) => [n], element, { concurrency })
      .build();

  it("qualifies a map's body under id[] and a race's branches under their ids", () => {
    const wf = flow<number>("shapes")
      .map("each", (n) => [n], element)
      .then("first", (xs) => xs[0]!)
      .race("pick", [branch("a", inc), branch("b", element)])
      .then("out", (r) => r.output)
      .loop(
        "again",
        flow<number>("body")
          .then("x", (n) => LoopResult.done(n))
          .build(),
        { maxIterations: 2 },
      )
      .build();
    expect([...nodesOf(wf.root)].map((n) => n.ref)).toEqual([
      "each",
      "each[]/work",
      "first",
      "pick",
      "a/inc",
      "b/work",
      "out",
      "again",
      "again#/x",
    ]);
  });

  it("changes the hash with a map's bounds, a flow's timeout and a delay being computed; keeps it for an unchanged loop", () => {
    expect(mapped(2).hash).not.toBe(mapped(3).hash);
    const plain = flow<number>("t").delay("d", 10).build();
    expect(flow<number>("t", { timeout: "1h" }).delay("d", 10).build().hash).not.toBe(plain.hash);
    expect(
      flow<number>("t")
        .delay("d", () => 10)
        .build().hash,
    ).not.toBe(plain.hash);
    const loop = (options: { maxIterations: number; onMax?: "fail" }) =>
      flow<number>("l")
        .loop("x", (n) => LoopResult.done(n), options)
        .build().hash;
    expect(loop({ maxIterations: 2, onMax: "fail" })).toBe(loop({ maxIterations: 2 }));
  });
});

describe("the new shapes in process", () => {
  const element = flow<number>("el")
    .delay("nap", (n) => n * 10)
    .then("work", (n) => n * 2)
    .build();

  it("maps in order under runSync (one at a time) and runAsync (concurrently), failing past maxItems", async () => {
    const wf = flow<number>("m")
      .map("each", (n) => [n, n + 1, n + 2], element, { concurrency: 2, maxItems: 3 })
      .build();
    const clock = new FakeClock();
    expect(runSync(wf, 1, { clock })).toEqual([2, 4, 6]);
    expect(await runAsync(wf, 0)).toEqual([0, 2, 4]);
    const tooMany = flow<number>("m2")
      .map("each", (n) => Array.from({ length: n }, () => 1), inc, { maxItems: 2 })
      .build();
    expect(() => runSync(tooMany, 3)).toThrow(MapLimitError);
  });

  it("a map with more elements in flight than a signal's default listener limit emits no process warning", async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on("warning", onWarning);
    try {
      const wf = flow<number>("wide")
        .map(
          "each",
          (n) => Array.from({ length: n }, (_, i) => i),
          task("wait", async (i: number) => (await new Promise((resolve) => setTimeout(resolve, 5)), i)),
          { concurrency: 20 },
        )
        .build();
      expect(await runAsync(wf, 40)).toHaveLength(40);
      // Node reports on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off("warning", onWarning);
    }
    expect(warnings.map((w) => w.name)).toEqual([]);
  });

  it("races: the first branch to finish wins under runAsync and the loser's task is aborted; runSync takes the first branch", async () => {
    let loserAborted = false;
    const slow = task(
      "slow",
      (_n: number, ctx) =>
        new Promise<number>((_resolve, reject) =>
          ctx.signal.addEventListener("abort", () => {
            loserAborted = true;
            reject(ctx.signal.reason as Error);
          }),
        ),
    );
    const wf = flow<number>("r")
      .race("pick", [branch("slow", slow), branch("fast", inc)])
      .build();
    expect(await runAsync(wf, 1)).toEqual({ winner: "fast", output: 2 });
    expect(loserAborted).toBe(true);
    const sync = flow<number>("rs")
      .race("pick", [branch("first", inc), branch("second", inc)])
      .build();
    expect(runSync(sync, 1)).toEqual({ winner: "first", output: 2 });
  });

  it("waits until a computed date, and passes a date in the past at once", () => {
    const clock = new FakeClock();
    const wf = flow<number>("d")
      .delay("until", (at) => new Date(at))
      .build();
    const start = clock.now();
    runSync(wf, start + 5000, { clock });
    expect(clock.now()).toBe(start + 5000);
    runSync(wf, 0, { clock });
    expect(clock.now()).toBe(start + 5000);
  });

  it("refuses a computed delay that is neither a duration nor a valid date, naming the step", () => {
    const wf = flow<number>("d")
      .delay("when", () => "soon" as never)
      .build();
    expect(() => runSync(wf, 1)).toThrow(/delay "when" computed: "soon" is not a duration/);
  });

  it("loops over a sub-flow body and honours onMax", () => {
    const body = flow<number>("b")
      .then("step", (n) => (n >= 3 ? LoopResult.done(n) : LoopResult.again(n + 1)))
      .build();
    expect(runSync(flow<number>("l").loop("l", body, { maxIterations: 5 }).build(), 0)).toBe(3);
    expect(() => runSync(flow<number>("l").loop("l", body, { maxIterations: 2 }).build(), 0)).toThrow(LoopLimitError);
    expect(runSync(flow<number>("l").loop("l", body, { maxIterations: 2, onMax: "exitWithLast" }).build(), 0)).toBe(2);
  });

  it("fails a run past its timeout with RunTimeoutError, aborting the task in flight (runAsync) or at the next step (runSync)", async () => {
    const hang = flow<number>("hang", { timeout: 20 })
      .then(
        "hang",
        (_n: number, ctx) =>
          new Promise<number>((_resolve, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason as Error))),
      )
      .build();
    await expect(runAsync(hang, 1)).rejects.toBeInstanceOf(RunTimeoutError);
    const clock = new FakeClock();
    const sleepy = flow<number>("sleepy", { timeout: 100 })
      .delay("long", 1000)
      .then("never", (n) => n)
      .build();
    expect(() => runSync(sleepy, 1, { clock })).toThrow(RunTimeoutError);
  });
});

describe("in-process executors check their options", () => {
  const wf = flow<number>("o").then(inc).build();
  it("refuses an unknown runSync or runAsync option, naming it", async () => {
    expect(validationErrorOf(() => runSync(wf, 1, { priority: 1 } as never)).message).toContain('runSync: unknown option "priority"');
    await expect(runAsync(wf, 1, { tags: [] } as never)).rejects.toThrow(/runAsync: unknown option "tags"/);
  });
});
