/**
 * The worker process on SIGTERM: closes the worker and exits 0; a stop still
 * unfinished 10s past the shutdown grace logs what it waits for and exits 1
 * rather than hang. On fake timers: no test waits for real time to pass.
 */
import { EventEmitter } from "node:events";
import type { Logger } from "@parkway/core";
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import { stopOnSignals, STOP_SLACK_MS } from "@parkway/worker";

interface Line {
  readonly level: string;
  readonly msg: string;
  readonly fields: Record<string, unknown>;
}

function recordingLogger(lines: Line[]): Logger {
  const at =
    (level: string) =>
    (first: object | string, msg?: string): void => {
      lines.push(
        typeof first === "string" ? { level, msg: first, fields: {} } : { level, msg: msg ?? "", fields: first as Record<string, unknown> },
      );
    };
  return { trace: at("trace"), debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

/** A worker whose close() resolves when `finish` is called (never, if it is not). */
function fakeWorker(shutdownGraceMs: number) {
  let finish!: () => void;
  const closed = new Promise<void>((resolve) => (finish = resolve));
  return {
    worker: { close: () => closed, closePending: "1 run(s) in flight, released at their next step boundary", shutdownGraceMs },
    finish,
  };
}

it("a stop still unfinished 10s past the grace logs what it waits for and exits 1, once", async () => {
  const lines: Line[] = [];
  const codes: number[] = [];
  const signals = new EventEmitter();
  const { worker, finish } = fakeWorker(2000);
  stopOnSignals(worker, recordingLogger(lines), undefined, (code) => codes.push(code), signals);
  signals.emit("SIGTERM");
  await vi.advanceTimersByTimeAsync(2000 + STOP_SLACK_MS - 1);
  expect(codes).toEqual([]);
  await vi.advanceTimersByTimeAsync(1);
  expect(codes).toEqual([1]);
  const errors = lines.filter((l) => l.level === "error");
  expect(errors).toHaveLength(1);
  expect(errors[0]!.msg).toBe(
    "still stopping 12000ms after SIGTERM, waiting for 1 run(s) in flight, released at their next step boundary: exiting now; runs still held resume elsewhere when their leases lapse",
  );
  expect(errors[0]!.fields).toMatchObject({ signal: "SIGTERM", limitMs: 12_000 });
  // A close that ends after that exit does not exit again.
  finish();
  await vi.advanceTimersByTimeAsync(0);
  expect(codes).toEqual([1]);
});

it("a stop that finishes in time exits 0, and the deadline never fires", async () => {
  const lines: Line[] = [];
  const codes: number[] = [];
  const signals = new EventEmitter();
  const { worker, finish } = fakeWorker(0);
  const afterClose = vi.fn(async () => undefined);
  stopOnSignals(worker, recordingLogger(lines), afterClose, (code) => codes.push(code), signals);
  signals.emit("SIGINT");
  finish();
  await vi.advanceTimersByTimeAsync(60_000);
  expect(codes).toEqual([0]);
  expect(afterClose).toHaveBeenCalledOnce();
  expect(lines.filter((l) => l.level === "error")).toEqual([]);
});
