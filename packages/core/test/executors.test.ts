import { describe, expect, it } from "vitest";
import {
  branch,
  type Clock,
  FakeClock,
  flow,
  isParkwayError,
  LoopLimitError,
  LoopResult,
  NonRetryableError,
  RouteKeyError,
  runAsync,
  runSync,
  type StepEvent,
  task,
  type TaskContext,
  TaskTimeoutError,
  UnsupportedStepError,
  ValidationError,
  type Workflow,
} from "../src/index.js";

interface RunOptions {
  readonly clock?: Clock;
  readonly onStep?: (event: StepEvent) => void;
}
type Runner = <In, Out>(workflow: Workflow<In, Out>, input: In, options?: RunOptions) => Promise<Out>;

/** Both in-process executors behind one shape, so each behaviour is proven for both. */
const executors: readonly (readonly [string, Runner])[] = [
  ["runSync", async (workflow, input, options) => runSync(workflow, input, options)],
  ["runAsync", (workflow, input, options) => runAsync(workflow, input, options)],
];

/** Collects the context of every call, in call order. */
function recorder() {
  const calls: TaskContext[] = [];
  return {
    calls,
    keys: () => calls.map((c) => c.stepId),
    record: (ctx: TaskContext) => void calls.push(ctx),
  };
}

/** A promise resolved from outside. */
function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe.each(executors)("%s", (_name, run) => {
  it("runs then-steps in order, each output feeding the next input", async () => {
    const wf = flow<number>("chain")
      .then(task("inc", (n: number) => n + 1))
      .then("double", (n) => n * 2)
      .then("show", (n) => `=${n}`)
      .build();
    await expect(run(wf, 4)).resolves.toBe("=10");
  });

  it("feeds the join each branch output under its branch id, with nested forks and sub-flows", async () => {
    const rec = recorder();
    const pack = flow<string>("pack")
      .then("label", (s, ctx) => (rec.record(ctx), `label(${s})`))
      .fork([
        branch(
          "box",
          task("box", (s: string, ctx) => (rec.record(ctx), `box(${s})`)),
        ),
        branch(
          "weigh",
          task("weigh", (s: string, ctx) => (rec.record(ctx), s.length)),
        ),
      ])
      .join("seal", ({ box, weigh }, ctx) => (rec.record(ctx), `${box}@${weigh}`))
      .build();
    const wf = flow<string>("order")
      .fork([
        branch("pack", pack),
        branch(
          "charge",
          task("charge", (s: string, ctx) => (rec.record(ctx), `paid(${s})`)),
        ),
      ])
      .join("merge", (outs, ctx) => (rec.record(ctx), outs))
      .build();

    await expect(run(wf, "o1")).resolves.toEqual({ pack: "box(label(o1))@9", charge: "paid(o1)" });
    expect(rec.keys().sort()).toEqual(["charge/charge", "merge", "pack/box/box", "pack/label", "pack/seal", "pack/weigh/weigh"]);
  });

  it("runs the same sub-flow in two branches under two distinct commit keys", async () => {
    const rec = recorder();
    const shout = flow<string>("shout")
      .then("upper", (s, ctx) => (rec.record(ctx), s.toUpperCase()))
      .then("bang", (s, ctx) => (rec.record(ctx), `${s}!`))
      .build();
    const wf = flow<string>("twice")
      .fork([branch("left", shout), branch("right", shout)])
      .join("both", ({ left, right }) => `${left} ${right}`)
      .build();

    await expect(run(wf, "hi")).resolves.toBe("HI! HI!");
    expect(rec.keys().sort()).toEqual(["left/bang", "left/upper", "right/bang", "right/upper"]);
  });

  it("runs a route inside each fork branch, each choosing its own key", async () => {
    const rec = recorder();
    const sizer = flow<number>("sizer")
      .route("by-size", (n) => (n > 10 ? "large" : "small"), ["small", "large"] as const)
      .branch(
        "small",
        task("ship-small", (n: number, ctx) => (rec.record(ctx), `small:${n}`)),
      )
      .branch(
        "large",
        task("ship-large", (n: number, ctx) => (rec.record(ctx), `large:${n}`)),
      )
      .done()
      .build();
    const wf = flow<number>("ship")
      .fork([
        branch("as-is", sizer),
        branch(
          "scaled",
          flow<number>("scale")
            .then("x10", (n) => n * 10)
            .thenFlow(sizer)
            .build(),
        ),
      ])
      .join("pair", (o) => o)
      .build();

    await expect(run(wf, 2)).resolves.toEqual({ "as-is": "small:2", scaled: "large:20" });
    expect(rec.keys().sort()).toEqual(["as-is/by-size[small]/ship-small", "scaled/sizer/by-size[large]/ship-large"]);
  });

  it("takes the default branch for a declared key without its own branch", async () => {
    const rec = recorder();
    const wf = flow<string>("r")
      .route("kind", (s) => (s.startsWith("vip") ? "vip" : s.startsWith("new") ? "new" : "regular"), ["vip", "new", "regular"] as const)
      .branch(
        "vip",
        task("vip", (s: string) => `vip:${s}`),
      )
      .defaultBranch(task("standard", (s: string, ctx) => (rec.record(ctx), `std:${s}`)))
      .done()
      .then("tail", (s) => `[${s}]`)
      .build();

    await expect(run(wf, "vip-1")).resolves.toBe("[vip:vip-1]");
    await expect(run(wf, "new-1")).resolves.toBe("[std:new-1]");
    await expect(run(wf, "bob")).resolves.toBe("[std:bob]");
    expect(rec.keys()).toEqual(["kind[*]/standard", "kind[*]/standard"]);
  });

  it("fails with RouteKeyError naming the route when the key has no branch and there is no default", async () => {
    const wf = flow<number>("r")
      .route("pick", () => "other" as "a", ["a"] as const)
      .branch(
        "a",
        task("a", (n: number) => n),
      )
      .done()
      .build();
    const error = await run(wf, 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RouteKeyError);
    expect((error as Error).message).toContain('"pick"');
    expect((error as Error).message).toContain('"other"');
  });

  it("runs a loop until it answers done, committing each iteration as id#n", async () => {
    const rec = recorder();
    const wf = flow<number>("l")
      .loop("poll", (n, ctx) => (rec.record(ctx), n >= 3 ? LoopResult.done(`ready at ${n}`) : LoopResult.again(n + 1)), {
        maxIterations: 5,
      })
      .then("after", (s) => s.toUpperCase())
      .build();

    await expect(run(wf, 1)).resolves.toBe("READY AT 3");
    expect(rec.keys()).toEqual(["poll#1", "poll#2", "poll#3"]);
  });

  it("fails with LoopLimitError naming the loop when it never finishes within maxIterations", async () => {
    let bodies = 0;
    const after = task("after", (n: number) => n);
    const wf = flow<number>("l")
      .loop("poll", (n) => (bodies++, LoopResult.again(n + 1)), { maxIterations: 4 })
      .then(after)
      .build();

    const error = await run(wf, 0).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LoopLimitError);
    expect((error as Error).message).toContain('"poll"');
    expect(bodies).toBe(4);
  });

  it("fails with ValidationError when a loop body answers something other than a LoopResult", async () => {
    const wf = flow<number>("l")
      .loop("poll", (n) => n as never, { maxIterations: 2 })
      .build();
    const error = await run(wf, 0).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toContain('"poll"');
  });

  it("retries a failing task and succeeds on attempt 3", async () => {
    const attempts: number[] = [];
    const flaky = task(
      "flaky",
      (n: number, ctx) => {
        attempts.push(ctx.attempt);
        if (ctx.attempt < 3) throw new Error(`attempt ${ctx.attempt} failed`);
        return n * 2;
      },
      { retry: { maxAttempts: 5, backoff: { initial: 1, factor: 1 } } },
    );
    const events: StepEvent[] = [];
    const wf = flow<number>("retry").then(flaky).build();

    await expect(run(wf, 21, { onStep: (e) => events.push(e) })).resolves.toBe(42);
    expect(attempts).toEqual([1, 2, 3]);
    expect(events).toEqual([{ key: "flaky", output: 42, attempts: 3 }]);
  });

  it("fails with the task's last error once maxAttempts are spent", async () => {
    let calls = 0;
    const failing = task(
      "failing",
      (_: number, ctx) => {
        calls++;
        throw new Error(`nope ${ctx.attempt}`);
      },
      { retry: { maxAttempts: 3, backoff: { initial: 1 } } },
    );
    await expect(run(flow<number>("f").then(failing).build(), 0)).rejects.toThrow("nope 3");
    expect(calls).toBe(3);
  });

  it("does not retry a task without a retry policy", async () => {
    let calls = 0;
    const once = task("once", () => {
      calls++;
      throw new Error("once");
    });
    await expect(run(flow<number>("f").then(once).build(), 0)).rejects.toThrow("once");
    expect(calls).toBe(1);
  });

  it("stops retrying at once when the task throws NonRetryableError", async () => {
    let calls = 0;
    const fatal = task(
      "fatal",
      () => {
        calls++;
        throw new NonRetryableError("card declined", { step: "fatal" });
      },
      { retry: { maxAttempts: 5, backoff: { initial: 1 } } },
    );
    const error = await run(flow<number>("f").then(fatal).build(), 0).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NonRetryableError);
    expect((error as Error).message).toBe("card declined");
    expect(calls).toBe(1);
  });

  it("fails the run with the task's own error object", async () => {
    const boom = new RangeError("boom");
    const wf = flow<number>("f")
      .then("bad", () => {
        throw boom;
      })
      .build();
    await expect(run(wf, 0)).rejects.toBe(boom);
  });

  it("runs a child flow inline with thenFlow, its steps keyed under the child's name", async () => {
    const rec = recorder();
    const child = flow<number>("notify")
      .then("format", (n, ctx) => (rec.record(ctx), `#${n}`))
      .then("send", (s, ctx) => (rec.record(ctx), `sent ${s}`))
      .build();
    const wf = flow<number>("parent")
      .then("inc", (n) => n + 1)
      .thenFlow(child)
      .then("done", (s, ctx) => (rec.record(ctx), s.length))
      .build();

    await expect(run(wf, 41)).resolves.toBe(8);
    expect(rec.keys()).toEqual(["notify/format", "notify/send", "done"]);
  });

  it("gives tasks the workflow name, the commit key, the attempt and an idempotency key stable per key", async () => {
    const rec = recorder();
    const flaky = task(
      "flaky",
      (n: number, ctx) => {
        rec.record(ctx);
        if (ctx.attempt === 1) throw new Error("first attempt fails");
        return n;
      },
      { retry: { maxAttempts: 2, backoff: { initial: 1 } } },
    );
    const sub = flow<number>("sub")
      .then("inner", (n, ctx) => (rec.record(ctx), n))
      .build();
    const wf = flow<number>("ctx-demo")
      .then(flaky)
      .fork([branch("b", sub)])
      .join("j", ({ b }, ctx) => (rec.record(ctx), b))
      .loop("l", (n, ctx) => (rec.record(ctx), n > 0 ? LoopResult.done(n) : LoopResult.again(n + 1)), { maxIterations: 3 })
      .build();

    await run(wf, 0);
    expect(rec.calls.map((c) => [c.workflow, c.stepId, c.attempt])).toEqual([
      ["ctx-demo", "flaky", 1],
      ["ctx-demo", "flaky", 2],
      ["ctx-demo", "b/inner", 1],
      ["ctx-demo", "j", 1],
      ["ctx-demo", "l#1", 1],
      ["ctx-demo", "l#2", 1],
    ]);
    const [first, retry, ...rest] = rec.calls;
    expect(first?.idempotencyKey).toBe(retry?.idempotencyKey);
    const keys = [first, ...rest].map((c) => c?.idempotencyKey);
    expect(new Set(keys).size).toBe(keys.length);
    for (const c of rec.calls) {
      expect(typeof c.idempotencyKey).toBe("string");
      expect(c.idempotencyKey).toContain(c.stepId);
      expect(c.signal).toBeInstanceOf(AbortSignal);
      expect(c.signal.aborted).toBe(false);
    }
    expect(new Set(rec.calls.map((c) => c.instanceId)).size).toBe(1);
  });

  it("rejects a workflow that waits for a signal with UnsupportedStepError naming the step and the signal, before any task runs", async () => {
    let ran = 0;
    const wf = flow<number>("approval-flow")
      .then("before", (n) => (ran++, n))
      .waitForSignal("approval", "approved", { timeout: "2d" })
      .then("after", (p) => (ran++, p))
      .build();

    const error = await run(wf, 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnsupportedStepError);
    expect((error as Error).message).toContain('"approval"');
    expect((error as Error).message).toContain('"approved"');
    expect(ran).toBe(0);
  });

  it("rejects a signal wait nested in a fork branch, naming its qualified step", async () => {
    let ran = 0;
    const waits = flow<number>("waits").waitForSignal("gate", "open").build();
    const wf = flow<number>("nested")
      .then("first", (n) => (ran++, n))
      .fork([
        branch("w", waits),
        branch(
          "x",
          task("x", (n: number) => n),
        ),
      ])
      .join("j", (o) => o)
      .build();

    const error = await run(wf, 1).catch((e: unknown) => e);
    expect(isParkwayError(error, UnsupportedStepError.code)).toBe(true);
    expect((error as Error).message).toContain('"w/gate"');
    expect((error as Error).message).toContain('"open"');
    expect(ran).toBe(0);
  });

  it("fails a fork with the failing branch's error", async () => {
    const wf = flow<number>("f")
      .fork([
        branch(
          "ok",
          task("ok", (n: number) => n),
        ),
        branch(
          "bad",
          task("bad", (): number => {
            throw new Error("branch failed");
          }),
        ),
      ])
      .join("j", (o) => o)
      .build();
    await expect(run(wf, 1)).rejects.toThrow("branch failed");
  });
});

describe("runSync", () => {
  it("returns its output synchronously", () => {
    const wf = flow<number>("s")
      .then("inc", (n) => n + 1)
      .build();
    expect(runSync(wf, 1)).toBe(2);
  });

  it("throws synchronously", () => {
    const wf = flow<number>("s")
      .then("bad", () => {
        throw new Error("sync failure");
      })
      .build();
    expect(() => runSync(wf, 1)).toThrow("sync failure");
  });

  it("rejects a task that returns a promise with UnsupportedStepError naming the task, without retrying it", () => {
    let calls = 0;
    const fetcher = task(
      "fetch-price",
      async (n: number) => {
        calls++;
        return n;
      },
      { retry: { maxAttempts: 3, backoff: { initial: 1 } } },
    );
    const wf = flow<number>("s")
      .then("first", (n) => n)
      .then(fetcher)
      .build();
    expect(() => runSync(wf, 1)).toThrow(UnsupportedStepError);
    expect(() => runSync(wf, 1)).toThrow('"fetch-price"');
    expect(calls).toBe(2);
  });

  it("rejects an async join with UnsupportedStepError naming the join", () => {
    const wf = flow<number>("s")
      .fork([
        branch(
          "a",
          task("a", (n: number) => n),
        ),
      ])
      .join("merge", async ({ a }) => a)
      .build();
    expect(() => runSync(wf, 1)).toThrow(/"merge".*promise|promise.*"merge"/);
  });

  it("runs fork branches one after another, in declaration order", () => {
    const order: string[] = [];
    const two = (name: string) =>
      flow<number>(name)
        .then("one", (n) => (order.push(`${name}.one`), n))
        .then("two", (n) => (order.push(`${name}.two`), n))
        .build();
    const wf = flow<number>("s")
      .fork([branch("a", two("a")), branch("b", two("b")), branch("c", two("c"))])
      .join("j", (o) => o)
      .build();
    runSync(wf, 1);
    expect(order).toEqual(["a.one", "a.two", "b.one", "b.two", "c.one", "c.two"]);
  });

  it("blocks for a delay, advancing a fake clock by its length", () => {
    const clock = new FakeClock();
    const start = clock.now();
    const seen: number[] = [];
    const wf = flow<string>("d")
      .then("before", (s) => (seen.push(clock.now()), s))
      .delay("cool-off", "10m")
      .then("after", (s) => (seen.push(clock.now()), s.toUpperCase()))
      .delay("overnight", "1d")
      .build();

    expect(runSync(wf, "x", { clock })).toBe("X");
    expect(seen).toEqual([start, start + 600_000]);
    expect(clock.now()).toBe(start + 600_000 + 86_400_000);
  });

  it("blocks on a real clock for a short delay", () => {
    const started = Date.now();
    runSync(flow<number>("d").delay("short", 20).build(), 1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(19);
  });

  it("waits the backoff between attempts: initial, then times factor, capped at max", () => {
    const clock = new FakeClock();
    const start = clock.now();
    const times: number[] = [];
    const flaky = task(
      "flaky",
      (n: number, ctx) => {
        times.push(clock.now() - start);
        if (ctx.attempt < 4) throw new Error("again");
        return n;
      },
      { retry: { maxAttempts: 4, backoff: { initial: "100ms", factor: 3, max: "500ms" } } },
    );
    expect(runSync(flow<number>("b").then(flaky).build(), 7, { clock })).toBe(7);
    expect(times).toEqual([0, 100, 400, 900]);
  });

  it("fails an attempt that ran past its timeout with TaskTimeoutError once it returns", () => {
    const clock = new FakeClock();
    const slow = task(
      "slow",
      (n: number) => {
        clock.sleepSync(1_500);
        return n;
      },
      { timeout: "1s" },
    );
    const error = (() => {
      try {
        runSync(flow<number>("t").then(slow).build(), 1, { clock });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(TaskTimeoutError);
    expect((error as Error).message).toContain('"slow"');
  });

  it("retries an attempt that timed out and succeeds on the next one", () => {
    const clock = new FakeClock();
    const slowOnce = task(
      "slow-once",
      (n: number, ctx) => {
        if (ctx.attempt === 1) clock.sleepSync(2_000);
        return n + ctx.attempt;
      },
      { timeout: "1s", retry: { maxAttempts: 2, backoff: { initial: 1 } } },
    );
    expect(runSync(flow<number>("t").then(slowOnce).build(), 10, { clock })).toBe(12);
  });
});

describe("runAsync", () => {
  it("runs async and sync tasks alike", async () => {
    const wf = flow<number>("a")
      .then("sync", (n) => n + 1)
      .then("async", async (n) => {
        await new Promise((r) => setTimeout(r, 1));
        return n * 2;
      })
      .build();
    await expect(runAsync(wf, 1)).resolves.toBe(4);
  });

  it("runs fork branches concurrently", async () => {
    const a = deferred();
    const b = deferred();
    const started: string[] = [];
    const wf = flow<number>("c")
      .fork([
        branch(
          "a",
          task("a", async (n: number) => {
            started.push("a");
            b.resolve();
            await a.promise;
            return n;
          }),
        ),
        branch(
          "b",
          task("b", async (n: number) => {
            started.push("b");
            a.resolve();
            await b.promise;
            return n + 1;
          }),
        ),
      ])
      .join("j", ({ a, b }) => a + b)
      .build();
    // Each branch waits for the other to start: only concurrent branches finish.
    await expect(runAsync(wf, 1)).resolves.toBe(3);
    expect(started.sort()).toEqual(["a", "b"]);
  });

  it("never runs more step functions at once than its concurrency bound", async () => {
    let running = 0;
    let peak = 0;
    const work = async (n: number) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 1));
      running--;
      return n + 1;
    };
    const chain = flow<number>("chain").then("s1", work).then("s2", work).then("s3", work).build();
    const quick = flow<number>("quick")
      .then("q1", (n) => n)
      .then("q2", work)
      .build();
    const branches = ["b1", "b2", "b3", "b4", "b5", "b6", "b7", "b8"].map((id, i) => branch(id, i % 2 ? chain : quick));
    const wf = flow<number>("many")
      .fork(branches)
      .join("sum", (o) => Object.values(o).reduce((s, v) => s + v, 0))
      .build();

    await expect(runAsync(wf, 0, { concurrency: 3 })).resolves.toBe(4 * 3 + 4 * 1);
    expect(peak).toBe(3);
  });

  it("keeps its concurrency bound when steps finish together while others wait for a slot", async () => {
    // Every task waits on one gate, then takes a different number of microtask hops to finish,
    // so slots are released while queued steps wait and new steps arrive: 35 interleavings.
    for (let variant = 0; variant < 35; variant++) {
      let running = 0;
      let peak = 0;
      let openGate!: () => void;
      const gate = new Promise<void>((resolve) => (openGate = resolve));
      const work = (hops: number) => async (n: number) => {
        running++;
        peak = Math.max(peak, running);
        await gate;
        for (let i = 0; i < hops; i++) await Promise.resolve();
        running--;
        return n + 1;
      };
      const chain = (k: number) => {
        let f = flow<number>(`c${k}`).then("s0", work((k * 3 + variant) % 7));
        for (let s = 1; s <= k % 3; s++) f = f.then(`s${s}`, work((k + s + variant) % 5));
        return f.build();
      };
      const wf = flow<number>("gated")
        .fork(Array.from({ length: 8 }, (_, i) => branch(`b${i}`, chain(i))))
        .join("j", (o) => o)
        .build();
      const result = runAsync(wf, 0, { concurrency: 3 });
      setTimeout(openGate, 0);
      await result;
      expect(peak, `variant ${variant}`).toBe(3);
    }
  });

  it("runs one function at a time with concurrency 1", async () => {
    let running = 0;
    let peak = 0;
    const work = async (n: number) => {
      running++;
      peak = Math.max(peak, running);
      await Promise.resolve();
      running--;
      return n;
    };
    const wf = flow<number>("one")
      .fork([branch("a", task("a", work)), branch("b", task("b", work)), branch("c", task("c", work))])
      .join("j", (o) => o)
      .build();
    await runAsync(wf, 1, { concurrency: 1 });
    expect(peak).toBe(1);
  });

  it("rejects a concurrency bound that is not a positive integer", async () => {
    const wf = flow<number>("c")
      .then("a", (n) => n)
      .build();
    await expect(runAsync(wf, 1, { concurrency: 0 })).rejects.toThrow(ValidationError);
    await expect(runAsync(wf, 1, { concurrency: 1.5 })).rejects.toThrow(ValidationError);
  });

  it("waits for a delay on its clock, passing the input through", async () => {
    const clock = new FakeClock();
    let after = false;
    const wf = flow<string>("d")
      .delay("cool-off", "10m")
      .then("after", (s) => ((after = true), s.toUpperCase()))
      .build();

    const result = runAsync(wf, "x", { clock });
    await clock.advance(600_000 - 1);
    expect(after).toBe(false);
    await clock.advance(1);
    await expect(result).resolves.toBe("X");
    expect(after).toBe(true);
  });

  it("waits a short real delay with the real clock", async () => {
    const started = Date.now();
    await runAsync(flow<number>("d").delay("short", 15).build(), 1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(14);
  });

  it("waits the backoff between attempts on its clock", async () => {
    const clock = new FakeClock();
    const start = clock.now();
    const times: number[] = [];
    const flaky = task(
      "flaky",
      async (n: number, ctx) => {
        times.push(clock.now() - start);
        if (ctx.attempt < 3) throw new Error("again");
        return n;
      },
      { retry: { maxAttempts: 3, backoff: { initial: "100ms", factor: 2 } } },
    );
    const result = runAsync(flow<number>("b").then(flaky).build(), 5, { clock });
    await clock.advance(99);
    expect(times).toEqual([0]);
    await clock.advance(301);
    await expect(result).resolves.toBe(5);
    expect(times).toEqual([0, 100, 300]);
  });

  it("aborts ctx.signal when an attempt's timeout passes and fails with TaskTimeoutError", async () => {
    const clock = new FakeClock();
    let seen: AbortSignal | undefined;
    const hang = task(
      "hang",
      (_: number, ctx) => {
        seen = ctx.signal;
        return new Promise<number>(() => undefined);
      },
      { timeout: "5s" },
    );
    const outcome = runAsync(flow<number>("t").then(hang).build(), 1, { clock }).catch((e: unknown) => e);
    await clock.advance(4_999);
    expect(seen?.aborted).toBe(false);
    await clock.advance(1);
    const error = await outcome;
    expect(error).toBeInstanceOf(TaskTimeoutError);
    expect((error as Error).message).toContain('"hang"');
    expect(seen?.aborted).toBe(true);
    expect(seen?.reason).toBeInstanceOf(TaskTimeoutError);
  });

  it("lets a task observe the abort of ctx.signal to stop its own work", async () => {
    let cleanedUp = false;
    const polite = task(
      "polite",
      (_: number, ctx) =>
        new Promise<number>((_resolve, reject) => {
          ctx.signal.addEventListener("abort", () => {
            cleanedUp = true;
            reject(new Error("stopped"));
          });
        }),
      { timeout: 5 },
    );
    await expect(runAsync(flow<number>("t").then(polite).build(), 1)).rejects.toThrow(TaskTimeoutError);
    expect(cleanedUp).toBe(true);
  });

  it("retries an attempt that timed out and succeeds on the next", async () => {
    const clock = new FakeClock();
    const signals: AbortSignal[] = [];
    const slowOnce = task(
      "slow-once",
      (n: number, ctx) => {
        signals.push(ctx.signal);
        return ctx.attempt === 1 ? new Promise<number>(() => undefined) : n + ctx.attempt;
      },
      { timeout: "1s", retry: { maxAttempts: 2, backoff: { initial: "10ms" } } },
    );
    const result = runAsync(flow<number>("t").then(slowOnce).build(), 10, { clock });
    await clock.advance(1_010);
    await expect(result).resolves.toBe(12);
    expect(signals.map((s) => s.aborted)).toEqual([true, false]);
  });

  it("aborts running attempts through ctx.signal when the run's signal aborts", async () => {
    const controller = new AbortController();
    let seen: AbortSignal | undefined;
    const wf = flow<number>("cancel")
      .then("wait", (_n, ctx) => {
        seen = ctx.signal;
        controller.abort(new Error("run cancelled"));
        return new Promise<number>(() => undefined);
      })
      .then("never", (n) => n)
      .build();
    await expect(runAsync(wf, 1, { signal: controller.signal })).rejects.toThrow("run cancelled");
    expect(seen?.aborted).toBe(true);
  });

  it("reports each step as it finishes", async () => {
    const events: StepEvent[] = [];
    const wf = flow<number>("e")
      .then("a", (n) => n + 1)
      .loop("l", (n) => (n > 2 ? LoopResult.done(n) : LoopResult.again(n + 1)), { maxIterations: 5 })
      .build();
    await runAsync(wf, 1, { onStep: (e) => events.push(e) });
    expect(events.map((e) => [e.key, e.output])).toEqual([
      ["a", 2],
      ["l#1", { loop: "again", value: 3 }],
      ["l#2", { loop: "done", value: 3 }],
    ]);
  });
});

describe("runSync and runAsync", () => {
  it("give the same output and run the same steps for the same workflow", async () => {
    interface Order {
      readonly id: string;
      readonly items: readonly number[];
    }
    const label = flow<Order>("label")
      .then("address", (o) => `to:${o.id}`)
      .then("stamp", (s) => `${s}+stamp`)
      .build();
    const ship = flow<number>("ship")
      .route("by-weight", (w) => (w > 10 ? "heavy" : w > 5 ? "medium" : "light"), ["light", "medium", "heavy"] as const)
      .branch(
        "heavy",
        task("freight", (w: number) => `freight(${w})`),
      )
      .defaultBranch(task("post", (w: number) => `post(${w})`))
      .done()
      .build();
    const make = (keys: string[]) => {
      const note =
        <I, O>(fn: (i: I) => O) =>
        (i: I, ctx: TaskContext) => (keys.push(ctx.stepId), fn(i));
      return flow<Order>("order")
        .then(
          "validate",
          note((o: Order) => o),
        )
        .fork([
          branch(
            "total",
            task(
              "sum",
              note((o: Order) => o.items.reduce((a, b) => a + b, 0)),
            ),
          ),
          branch("label", label),
          branch(
            "count",
            task(
              "count",
              note((o: Order) => o.items.length),
            ),
          ),
        ])
        .join(
          "merge",
          note(({ total, label, count }: { total: number; label: string; count: number }) => ({ total, label, count })),
        )
        .loop(
          "discount",
          note((m: { total: number; label: string; count: number }) =>
            m.total > 12 ? LoopResult.again({ ...m, total: m.total - 5 }) : LoopResult.done(m),
          ),
          { maxIterations: 10 },
        )
        .delay("settle", 1)
        .then(
          "weight",
          note((m: { total: number }) => m.total),
        )
        .thenFlow(ship)
        .then(
          "receipt",
          note((s: string) => `receipt:${s}`),
        )
        .build();
    };
    const input: Order = { id: "o-7", items: [4, 9, 12] };
    const syncKeys: string[] = [];
    const asyncKeys: string[] = [];
    const fromSync = runSync(make(syncKeys), input);
    const fromAsync = await runAsync(make(asyncKeys), input);

    expect(fromSync).toBe("receipt:post(10)");
    expect(fromAsync).toEqual(fromSync);
    expect([...asyncKeys].sort()).toEqual([...syncKeys].sort());
    expect(syncKeys).toContain("discount#4");
  });
});
