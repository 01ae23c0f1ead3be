import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { branch, type Duration, flow, LoopResult, task, type TaskOptions, type Workflow } from "../src/index.js";

interface Order {
  readonly id: string;
  readonly size: number;
}

/** One workflow touching every verb; each parameter changes one aspect of its shape. */
function order(
  overrides: {
    name?: string;
    reserveId?: string;
    reserveOptions?: TaskOptions;
    delay?: Duration;
    signal?: string;
    signalTimeout?: Duration;
    maxIterations?: number;
    routeKeys?: readonly string[];
    branchOrder?: "charge-first" | "pack-first";
    reserveBody?: (o: Order) => Order;
    extraStep?: boolean;
  } = {},
): Workflow<Order, unknown> {
  const reserve = task(overrides.reserveId ?? "reserve", overrides.reserveBody ?? ((o: Order) => o), {
    retry: { maxAttempts: 3, backoff: { initial: "200ms", factor: 2, max: "30s" } },
    timeout: "10s",
    ...overrides.reserveOptions,
  });
  const charge = task("charge", (o: Order) => ({ paid: o.size }));
  const pack = flow<Order>("pack")
    .then("label", (o) => ({ label: o.id }))
    .build();
  const branches =
    overrides.branchOrder === "pack-first"
      ? [branch("pack", pack), branch("charge", charge)]
      : [branch("charge", charge), branch("pack", pack)];
  let f = flow<Order>(overrides.name ?? "order")
    .then(reserve)
    .fork(branches)
    .join("merge", (outs) => outs)
    .route("by-size", () => "small" as const, overrides.routeKeys ?? ["small", "large"])
    .branch(
      "small",
      task("ship-small", (x: unknown) => x),
    )
    .defaultBranch(task("ship-any", (x: unknown) => x))
    .done()
    .loop("poll", (x) => LoopResult.done(x), { maxIterations: overrides.maxIterations ?? 20 })
    .delay("cool-off", overrides.delay ?? "10m")
    .waitForSignal("approval", overrides.signal ?? "approved", { timeout: overrides.signalTimeout ?? "2d" });
  if (overrides.extraStep) f = f.then("audit", (x) => x);
  return f.build();
}

const base = order().hash;

describe("workflow hash", () => {
  it("is the same when the same definition is built again", () => {
    expect(order().hash).toBe(base);
    expect(order().hash).toBe(order().hash);
  });

  it("does not depend on the key order of task options", () => {
    const a = flow<number>("k")
      .then(task("t", (n: number) => n, { timeout: "1s", retry: { backoff: { max: "5s", factor: 3, initial: 10 }, maxAttempts: 2 } }))
      .build();
    const b = flow<number>("k")
      .then(task("t", (n: number) => n, { retry: { maxAttempts: 2, backoff: { initial: 10, factor: 3, max: "5s" } }, timeout: "1s" }))
      .build();
    expect(a.hash).toBe(b.hash);
  });

  it("compares durations by their length, not their spelling", () => {
    expect(order({ delay: "10m" }).hash).toBe(order({ delay: 600_000 }).hash);
    expect(order({ signalTimeout: "2d" }).hash).toBe(order({ signalTimeout: "48h" }).hash);
  });

  it("does not change when only a task's function body changes", () => {
    const edited = order({
      reserveBody: (o) => {
        const size = o.size * 2;
        return { ...o, size };
      },
    });
    expect(edited.hash).toBe(base);
  });

  it("is the same in a separate Node process importing the built package", { timeout: 30_000 }, async () => {
    const dist = fileURLToPath(new URL("../dist/index.js", import.meta.url));
    const script = `
      const { flow, task, branch, LoopResult } = await import(${JSON.stringify(dist)});
      const reserve = task("reserve", (o) => ({ ...o, changed: true }), {
        timeout: "10s",
        retry: { backoff: { max: "30s", factor: 2, initial: "200ms" }, maxAttempts: 3 },
      });
      const charge = task("charge", (o) => o);
      const pack = flow("pack").then("label", (o) => o).build();
      const wf = flow("order")
        .then(reserve)
        .fork([branch("charge", charge), branch("pack", pack)])
        .join("merge", (outs) => outs)
        .route("by-size", () => "large", ["small", "large"])
        .branch("small", task("ship-small", (x) => x))
        .defaultBranch(task("ship-any", (x) => x))
        .done()
        .loop("poll", (x) => LoopResult.again(x), { maxIterations: 20 })
        .delay("cool-off", 600000)
        .waitForSignal("approval", "approved", { timeout: "2d" })
        .build();
      process.stdout.write(wf.hash);
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
    expect(stdout).toBe(base);
  });

  it.each<[string, Parameters<typeof order>[0]]>([
    ["the workflow name", { name: "order-v2" }],
    ["a step id", { reserveId: "reserve-stock" }],
    ["a delay's duration", { delay: "11m" }],
    ["a signal name", { signal: "approved-v2" }],
    ["a signal timeout", { signalTimeout: "3d" }],
    ["a task's maxAttempts", { reserveOptions: { retry: { maxAttempts: 4, backoff: { initial: "200ms", factor: 2, max: "30s" } } } }],
    ["a task's backoff", { reserveOptions: { retry: { maxAttempts: 3, backoff: { initial: "300ms", factor: 2, max: "30s" } } } }],
    ["a task's timeout", { reserveOptions: { timeout: "11s" } }],
    ["a loop's maxIterations", { maxIterations: 21 }],
    ["a route's declared keys", { routeKeys: ["small", "large", "huge"] }],
    ["the order of fork branches", { branchOrder: "pack-first" }],
    ["the number of steps", { extraStep: true }],
  ])("changes when %s changes", (_what, overrides) => {
    expect(order(overrides).hash).not.toBe(base);
  });

  it("changes when two steps swap places", () => {
    const a = task("a", (n: number) => n);
    const b = task("b", (n: number) => n);
    expect(flow<number>("swap").then(a).then(b).build().hash).not.toBe(flow<number>("swap").then(b).then(a).build().hash);
  });

  it("changes when a step's kind changes but its id stays", () => {
    const asTask = flow<number>("kind")
      .then("wait", (n) => n)
      .build();
    const asDelay = flow<number>("kind").delay("wait", 0).build();
    expect(asTask.hash).not.toBe(asDelay.hash);
  });

  it("changes when a sub-flow used as a branch changes shape", () => {
    const withSub = (sub: Workflow<number, number>) =>
      flow<number>("outer")
        .fork([branch("sub", sub)])
        .join("j", (o) => o.sub)
        .build().hash;
    const one = flow<number>("sub")
      .then("a", (n) => n)
      .build();
    const two = flow<number>("sub")
      .then("a", (n) => n)
      .then("b", (n) => n)
      .build();
    expect(withSub(one)).not.toBe(withSub(two));
  });

  it("changes when a signal's onTimeout value changes", () => {
    const a = flow<number>("s").waitForSignal("w", "go", { timeout: 5, onTimeout: 1 }).build();
    const b = flow<number>("s").waitForSignal("w", "go", { timeout: 5, onTimeout: 2 }).build();
    expect(a.hash).not.toBe(b.hash);
  });
});
