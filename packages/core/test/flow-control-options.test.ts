import { describe, expect, it } from "vitest";
import { flow, task, ValidationError } from "../src/index.js";

function refusal(make: () => unknown): ValidationError {
  try {
    make();
  } catch (e) {
    if (e instanceof ValidationError) return e;
    throw e;
  }
  throw new Error("expected a ValidationError");
}

const id = (n: number) => n;

describe("flow control options are checked when a flow or task is defined", () => {
  it.each([
    ["a limit of 0", () => flow<number>("f", { concurrency: { limit: 0 } }), 'flow "f": concurrency.limit must be an integer from 1'],
    ["a negative limit", () => task("t", id, { concurrency: { limit: -1 } }), 'task "t": concurrency.limit must be an integer from 1'],
    ["a fractional limit", () => flow<number>("f", { rateLimit: { limit: 1.5, period: "1s" } }), 'flow "f": rateLimit.limit'],
    ["a rate over its range", () => task("t", id, { rateLimit: { limit: 10_001, period: "1s" } }), "from 1 to 10000"],
    ["a missing period", () => task("t", id, { rateLimit: { limit: 1 } as never }), 'task "t": rateLimit.period is required'],
    ["a period that is no duration", () => flow<number>("f", { rateLimit: { limit: 1, period: "soon" as never } }), "rateLimit.period"],
    ["a period of 0", () => flow<number>("f", { rateLimit: { limit: 1, period: 0 } }), 'flow "f": rateLimit.period must be between'],
    ["a period over a day", () => flow<number>("f", { rateLimit: { limit: 1, period: "2d" } }), "rateLimit.period must be between"],
    ["a key that is no function", () => task("t", id, { concurrency: { limit: 1, key: "tenant" as never } }), 'task "t": concurrency.key'],
    ["a priority out of range", () => flow<number>("f", { priority: 1001 }), 'flow "f": priority must be an integer from -1000 to 1000'],
    ["a fractional priority", () => flow<number>("f", { priority: 0.5 }), 'flow "f": priority'],
    [
      "concurrency that is no object",
      () => flow<number>("f", { concurrency: 2 as never }),
      'flow "f": concurrency: options must be an object',
    ],
  ])("%s is a ValidationError naming it", (_what, make, message) => {
    expect(refusal(make).message).toContain(message);
  });

  it("valid limits build, and stay out of the workflow's hash", () => {
    const call = task("call", id, { concurrency: { limit: 2, key: (n: number) => String(n) }, rateLimit: { limit: 5, period: "1s" } });
    const limited = flow<number>("f", { concurrency: { limit: 3 }, rateLimit: { limit: 10, period: "1m" }, priority: 5 })
      .then(call)
      .build();
    const plain = flow<number>("f").then(task("call", id)).build();
    expect(limited.hash).toBe(plain.hash);
    expect(limited.limits?.concurrency?.limit).toBe(3);
    expect(limited.stepLimits?.get("call")?.rateLimit?.periodMs).toBe(1000);
  });
});
