import { describe, expect, it } from "vitest";
import {
  CancelledError,
  CodecError,
  DefinitionMismatchError,
  deserializeError,
  ensureError,
  isParkwayError,
  LoopLimitError,
  NonRetryableError,
  ParkwayError,
  PayloadTooLargeError,
  serializeError,
  SignalTimeoutError,
  TaskTimeoutError,
  toMs,
  UnknownInstanceError,
  UnknownWorkflowError,
  UnsupportedStepError,
  ValidationError,
} from "../src/index.js";

const BRAND = Symbol.for("parkway.error");

/** What an error thrown by a second installed copy of @parkway/core looks like to this copy. */
function fromOtherCopy(code: string, message = "from the other copy"): object {
  const e = new Error(message) as Error & { code: string; [BRAND]: true };
  e.code = code;
  e[BRAND] = true;
  return e;
}

describe("error classes", () => {
  it.each([
    [ValidationError, "VALIDATION"],
    [UnknownWorkflowError, "UNKNOWN_WORKFLOW"],
    [UnknownInstanceError, "UNKNOWN_INSTANCE"],
    [DefinitionMismatchError, "DEFINITION_MISMATCH"],
    [SignalTimeoutError, "SIGNAL_TIMEOUT"],
    [TaskTimeoutError, "TASK_TIMEOUT"],
    [CodecError, "CODEC"],
    [PayloadTooLargeError, "PAYLOAD_TOO_LARGE"],
    [CancelledError, "CANCELLED"],
    [NonRetryableError, "NON_RETRYABLE"],
    [UnsupportedStepError, "UNSUPPORTED_STEP"],
    [LoopLimitError, "LOOP_LIMIT"],
  ] as const)("%o carries the stable code %s on the class and the instance", (Ctor, code) => {
    const e = new Ctor("boom", { step: "s" });
    expect(Ctor.code).toBe(code);
    expect(e.code).toBe(code);
    expect(e.name).toBe(Ctor.name);
    expect(e.message).toBe("boom");
    expect(e.context).toEqual({ step: "s" });
    expect(e).toBeInstanceOf(Error);
    expect(e).toBeInstanceOf(ParkwayError);
    expect(e).toBeInstanceOf(Ctor);
  });

  it("gives every class a distinct code", () => {
    const codes = [
      ValidationError,
      UnknownWorkflowError,
      UnknownInstanceError,
      DefinitionMismatchError,
      SignalTimeoutError,
      TaskTimeoutError,
      CodecError,
      PayloadTooLargeError,
      CancelledError,
      NonRetryableError,
      UnsupportedStepError,
      LoopLimitError,
    ].map((c) => c.code);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it("keeps a cause", () => {
    const cause = new Error("root");
    expect(new CodecError("cannot encode", {}, { cause }).cause).toBe(cause);
  });

  it("is not an instance of a sibling class", () => {
    expect(new ValidationError("x")).not.toBeInstanceOf(TaskTimeoutError);
    expect(new TaskTimeoutError("x")).not.toBeInstanceOf(ValidationError);
  });
});

describe("isParkwayError", () => {
  it("recognises Parkway errors, optionally of one code", () => {
    const e = new TaskTimeoutError("late");
    expect(isParkwayError(e)).toBe(true);
    expect(isParkwayError(e, "TASK_TIMEOUT")).toBe(true);
    expect(isParkwayError(e, TaskTimeoutError.code)).toBe(true);
    expect(isParkwayError(e, "VALIDATION")).toBe(false);
  });

  it("rejects plain errors and non-errors, even ones with a matching code", () => {
    const plain = Object.assign(new Error("x"), { code: "VALIDATION" });
    for (const value of [plain, new Error("x"), "VALIDATION", null, undefined, 42, { code: "VALIDATION" }]) {
      expect(isParkwayError(value)).toBe(false);
      expect(isParkwayError(value, "VALIDATION")).toBe(false);
    }
  });

  it("recognises an error from another copy of the package by its brand and code", () => {
    const other = fromOtherCopy("VALIDATION");
    expect(isParkwayError(other)).toBe(true);
    expect(isParkwayError(other, "VALIDATION")).toBe(true);
    expect(isParkwayError(other, "CODEC")).toBe(false);
  });
});

describe("instanceof across copies", () => {
  it("matches an error from another copy against the class of its code and the base class", () => {
    const other = fromOtherCopy("VALIDATION");
    expect(other instanceof ValidationError).toBe(true);
    expect(other instanceof ParkwayError).toBe(true);
    expect(other instanceof TaskTimeoutError).toBe(false);
  });

  it("works for a bare branded object, not only Error instances", () => {
    const other = { [BRAND]: true, code: "NON_RETRYABLE", message: "stop" };
    expect(other instanceof NonRetryableError).toBe(true);
    expect(other instanceof CancelledError).toBe(false);
  });

  it("does not match an unbranded object with a Parkway code", () => {
    expect({ code: "VALIDATION" } instanceof ValidationError).toBe(false);
    expect(Object.assign(new Error("x"), { code: "VALIDATION" }) instanceof ParkwayError).toBe(false);
  });
});

describe("serializeError / deserializeError", () => {
  it("round-trips a Parkway error with its code, name, message, context and stack", () => {
    const original = new TaskTimeoutError("step timed out", { step: "reserve", attempt: 2, timeoutMs: 100 });
    const stored = serializeError(original);
    expect(stored).toMatchObject({ name: "TaskTimeoutError", code: "TASK_TIMEOUT", message: "step timed out" });
    const back = deserializeError(JSON.parse(JSON.stringify(stored)) as typeof stored);
    expect(back).toBeInstanceOf(TaskTimeoutError);
    expect(isParkwayError(back, "TASK_TIMEOUT")).toBe(true);
    expect(back.name).toBe("TaskTimeoutError");
    expect(back.message).toBe("step timed out");
    expect(back.stack).toBe(original.stack);
    expect((back as ParkwayError).context).toEqual({ step: "reserve", attempt: 2, timeoutMs: 100 });
  });

  it("round-trips a plain error as a plain error", () => {
    const original = new RangeError("out of range");
    const back = deserializeError(serializeError(original));
    expect(back).toBeInstanceOf(Error);
    expect(isParkwayError(back)).toBe(false);
    expect(back.name).toBe("RangeError");
    expect(back.message).toBe("out of range");
  });

  it("keeps the chain of causes", () => {
    const original = new CodecError("cannot encode output", { step: "s" }, { cause: new TypeError("cyclic") });
    const back = deserializeError(serializeError(original));
    expect(back).toBeInstanceOf(CodecError);
    expect(back.cause).toBeInstanceOf(Error);
    expect((back.cause as Error).name).toBe("TypeError");
    expect((back.cause as Error).message).toBe("cyclic");
  });

  it("stores only plain values of the context", () => {
    const original = new ValidationError("bad", { step: "s", fn: () => 1, nested: { a: 1 }, n: 3, ok: true, none: null });
    expect(serializeError(original).context).toEqual({ step: "s", n: 3, ok: true, none: null });
  });

  it("turns thrown non-errors into errors", () => {
    expect(serializeError("just a string").message).toContain("just a string");
    expect(serializeError({ reason: 42 }).message).toContain('{"reason":42}');
    expect(ensureError(undefined)).toBeInstanceOf(Error);
    const e = new Error("same");
    expect(ensureError(e)).toBe(e);
  });
});

describe("durations", () => {
  it.each([
    ["250ms", 250],
    ["30s", 30_000],
    ["5m", 300_000],
    ["2h", 7_200_000],
    ["1d", 86_400_000],
    ["1.5s", 1_500],
    ["0ms", 0],
    [0, 0],
    [1234, 1234],
    [12.6, 13],
  ] as const)("reads %o as %i milliseconds", (value, ms) => {
    expect(toMs(value)).toBe(ms);
  });

  it.each([
    ["10", '"10"'],
    ["5w", '"5w"'],
    ["ms", '"ms"'],
    ["-5s", '"-5s"'],
    ["1 s", '"1 s"'],
    ["s5", '"s5"'],
    ["", '""'],
    ["soon", '"soon"'],
    [-1, "-1"],
    [Number.NaN, "NaN"],
    [Number.POSITIVE_INFINITY, "Infinity"],
    [null, "null"],
    [undefined, "undefined"],
    [true, "true"],
  ] as const)("rejects %o with a ValidationError naming the value", (value, shown) => {
    let error: unknown;
    try {
      toMs(value, "my delay");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ValidationError);
    const message = (error as Error).message;
    expect(message).toContain("my delay");
    expect(message).toContain(shown);
  });
});

describe("decoding stored bytes", () => {
  it("rejects the reserved byte 0xC1 that msgpackr would read as a value", async () => {
    const { decode } = await import("../src/index.js");
    expect(() => decode(Uint8Array.from([0xc1]), "output of step x")).toThrow(/corrupted/);
    expect(() => decode(Uint8Array.from([0x92, 0xc1, 0x01]), "output of step x")).toThrow(/0xC1/);
    expect(decode(Uint8Array.from([0x92, 0x01, 0x02]), "output of step x")).toEqual([1, 2]);
  });
});
