/**
 * The behaviour suite's cases for typed handles and signal definitions: a
 * payload checked by its schema before anything is buffered, a name the run
 * can no longer wait for refused, a handle bound to its workflow, and the
 * signals buffered for a run as `status()` shows them. Declared by
 * `describeEngineConformance`, so every store runs them.
 */
import { expect, it } from "vitest";
import { flow } from "../builder/flow.js";
import { defineSignal } from "../builder/signal.js";
import type { Workflow } from "../builder/workflow.js";
import { encode } from "../codec/codec.js";
import { DurableClient } from "../engine/client.js";
import { describeRun } from "../engine/run-tree.js";
import { BUFFERED_SIGNALS_SHOWN, SIGNAL_PREVIEW_BYTES } from "../engine/run-views.js";
import { HISTORY_LIMIT } from "../store/history.js";
import type { DurableRunnerOptions } from "../engine/memory-engine.js";
import type { StandardSchemaV1 } from "../schema.js";
import { statusWaits, type EngineHarness } from "./harness.js";

interface Approval {
  readonly by: string;
}

/** Accepts `{ by: string }` and trims `by`: a schema with a transform, so the test sees its output is what is stored. */
const approvalSchema: StandardSchemaV1<Approval, Approval> = {
  "~standard": {
    version: 1,
    vendor: "parkway-test",
    validate: (value) => {
      const by = (value as { by?: unknown } | null)?.by;
      return typeof by === "string" ? { value: { by: by.trim() } } : { issues: [{ message: "by must be a string", path: ["by"] }] };
    },
  },
};

/** Declares the signal and handle cases; `harness` is read when each test runs. */
export function signalCases(harness: () => EngineHarness): void {
  const engine = (workflows: readonly Workflow<never, unknown>[], options?: DurableRunnerOptions) => harness().create(workflows, options);
  const { until, parked, finished } = statusWaits(harness);
  const approved = defineSignal("approved", { schema: approvalSchema });

  it("a signal payload that fails its schema is a ValidationError and nothing is buffered; a valid one arrives as the schema's output", async () => {
    const wf = flow<number>("typed-signal")
      .waitForSignal("approval", approved)
      .then("who", (a) => a.by)
      .build();
    const e = await engine([wf]);
    const run = await e.start(wf, 1, { id: "ts1" });
    await parked(e, "ts1");
    await expect(run.signal(approved, { by: 5 } as unknown as Approval)).rejects.toMatchObject({ code: "VALIDATION", message: /by/ });
    // A plain name finds the schema in the run's workflow.
    await expect(e.signal("ts1", "approved", { nobody: true })).rejects.toMatchObject({ code: "VALIDATION" });
    await run.signal(approved, { by: "  ana " });
    // Had a refused payload been buffered, the wait would have taken it first.
    expect(await run.result()).toBe("ana");
  });

  it("a misspelled signal name, or one whose every wait the run has passed, is refused with UnexpectedSignalError", async () => {
    const wf = flow<null>("expect-signals")
      .waitForSignal<string>("first", "go")
      .route("pick", (s) => (s === "a" ? "a" : "b"), ["a", "b"] as const)
      .branch("a", flow<string>("in-a").waitForSignal<string>("wait-a", "only-a").build())
      .branch("b", flow<string>("in-b").waitForSignal<string>("wait-b", "only-b").build())
      .done()
      .build();
    const e = await engine([wf]);
    await e.start(wf, null, { id: "es1" });
    await parked(e, "es1");
    await expect(e.signal("es1", "og", 1)).rejects.toMatchObject({ code: "UNEXPECTED_SIGNAL", context: { signal: "og" } });
    // Both branches are still ahead: either branch's signal may be sent early.
    await e.signal("es1", "only-a", "early");
    await e.signal("es1", "go", "a");
    const view = await finished(e, "es1");
    expect(view.output).toBe("early");
    await expect(e.signal("es1", "go", "again")).rejects.toMatchObject({ code: "RUN_FINISHED" });

    await e.start(wf, null, { id: "es2" });
    await parked(e, "es2");
    await e.signal("es2", "go", "b");
    await until(e, "es2", (v) => v.steps.some((s) => s.key === "pick"), "past its route");
    await expect(e.signal("es2", "go", "twice")).rejects.toMatchObject({ code: "UNEXPECTED_SIGNAL", message: /past every step/ });
    await expect(e.signal("es2", "only-a", "x")).rejects.toMatchObject({ code: "UNEXPECTED_SIGNAL", context: { expected: ["only-b"] } });
    await e.signal("es2", "only-b", "done");
    expect(await e.result("es2")).toBe("done");
  });

  it("a delivery id resent after the run took its signal and moved on is answered as the first call was", async () => {
    const wf = flow<null>("resent-signal").waitForSignal<string>("one", "go").waitForSignal<string>("two", "stop").build();
    const e = await engine([wf]);
    await e.start(wf, null, { id: "rs1" });
    await parked(e, "rs1");
    await e.signal("rs1", "go", "x", { deliveryId: "d-go" });
    await until(e, "rs1", (v) => v.status === "parked" && v.steps.length === 1, "waiting for stop");
    await expect(e.signal("rs1", "go", "x", { deliveryId: "d-go" })).resolves.toBeUndefined();
    await expect(e.signal("rs1", "go", "x", { deliveryId: "d-new" })).rejects.toMatchObject({ code: "UNEXPECTED_SIGNAL" });
  });

  it("without the definition, a sender refuses names outside those the store recorded at start", async () => {
    const wf = flow<null>("recorded-signals").waitForSignal<string>("one", "go").build();
    const e = await engine([wf]);
    await e.start(wf, null, { id: "rn1" });
    await parked(e, "rn1");
    expect(await e.store.signalTarget("rn1")).toMatchObject({ workflow: "recorded-signals", names: ["go"], delivered: null });
    const bare = new DurableClient({ store: e.store, waker: { wake: async () => {} } });
    await expect(bare.signal("rn1", "og", "x")).rejects.toMatchObject({ code: "UNEXPECTED_SIGNAL", context: { expected: ["go"] } });
    await expect(bare.signal("rn1", "go", "x")).resolves.toBeUndefined();
    await expect(bare.signal("missing", "go", "x")).rejects.toMatchObject({ code: "UNKNOWN_INSTANCE" });
  });

  it("start returns a handle on the run; client.handle binds one to a workflow and refuses a run of another", async () => {
    const wf = flow<number>("handled")
      .waitForSignal("approval", approved)
      .then("twice", (a) => `${a.by}${a.by}`)
      .build();
    const other = flow<number>("other-handled")
      .then("same", (n) => n)
      .build();
    const e = await engine([wf, other]);
    const later = e.handle(wf, "h1");
    const run = await e.start(wf, 1, { id: "h1" });
    expect(run.toJSON()).toEqual({ id: "h1", workflow: "handled", created: true });
    expect((await e.start(wf, 2, { id: "h1" })).created).toBe(false);
    await expect(e.start(other, 2, { id: "h1" })).rejects.toMatchObject({ code: "VALIDATION", message: /handled/ });
    expect((await later.status()).status).toMatch(/pending|running|parked/);
    await later.signal(approved, { by: "b" });
    expect(await run.result()).toBe("bb");
    const wrong = e.handle(other, "h1");
    await expect(wrong.result()).rejects.toMatchObject({ code: "VALIDATION", message: /"handled", not of "other-handled"/ });
    await expect(wrong.cancel()).rejects.toMatchObject({ code: "VALIDATION" });
    await expect(e.handle(wf, "nope").status()).rejects.toMatchObject({ code: "UNKNOWN_INSTANCE" });
    expect(() => e.handle({ kind: "workflow" } as unknown as Workflow, "h1")).toThrow(/flow/);
    expect(() => e.handle(wf, "")).toThrow(/instance id/);
  });

  it("status shows the signals sent and not taken yet, oldest first, with when each was sent; a step takes the oldest", async () => {
    const wf = flow<null>("buffered-signals")
      .waitForSignal<string>("first", "go")
      .waitForSignal<{ n: number }>("second", "later")
      .delay("nap", "1h")
      .build();
    const e = await engine([wf]);
    await e.start(wf, null, { id: "bs1" });
    let view = await parked(e, "bs1");
    expect(view.buffered).toEqual({ signals: [], total: 0, byName: {} });
    await e.signal("bs1", "later", { n: 1 });
    await harness().advance(3);
    await e.signal("bs1", "later", { n: 2 });
    view = await e.status("bs1");
    const bytes = encode({ n: 1 }, { what: "a payload" }).length;
    const sent = (await e.history("bs1")).flatMap((event) => (event.type === "signal.received" ? [event.at] : []));
    expect(sent).toHaveLength(2);
    expect(view.buffered.total).toBe(2);
    expect(view.buffered.byName).toEqual({ later: 2 });
    expect(view.buffered.signals).toEqual([
      { name: "later", sentAt: sent[0], bytes, payload: { n: 1 } },
      { name: "later", sentAt: sent[1], bytes, payload: { n: 2 } },
    ]);
    // The tree says so at the step that will take them.
    const second = describeRun(wf, view).find((node) => node.id === "second")!;
    expect(second.detail).toEqual({ kind: "awaitSignal", signal: "later", timeoutMs: null, buffered: 2 });

    await e.signal("bs1", "go", "now");
    view = await until(e, "bs1", (v) => v.status === "parked" && v.steps.length === 2, "parked at its nap");
    expect(view.steps[1]!.output).toEqual({ n: 1 });
    expect(view.buffered).toEqual({
      signals: [{ name: "later", sentAt: sent[1], bytes, payload: { n: 2 } }],
      total: 1,
      byName: { later: 1 },
    });
    // A finished run keeps no signal.
    await e.cancel("bs1");
    expect((await e.status("bs1")).buffered).toEqual({ signals: [], total: 0, byName: {} });
  });

  it(`status shows the first ${BUFFERED_SIGNALS_SHOWN} buffered signals and counts them all; a large payload shows its size only`, async () => {
    const wf = flow<null>("many-signals").waitForSignal<string>("first", "go").waitForSignal<unknown>("more", "more").build();
    const e = await engine([wf]);
    await e.start(wf, null, { id: "ms1" });
    await parked(e, "ms1");
    // More than the history keeps: the oldest signals' `signal.received` events are gone, so when they were sent is not known.
    const sentCount = HISTORY_LIMIT + 10;
    await e.signal("ms1", "more", "x".repeat(SIGNAL_PREVIEW_BYTES));
    for (let i = 1; i < sentCount; i++) await e.signal("ms1", "more", i);
    const view = await e.status("ms1");
    const history = await e.history("ms1");
    expect(history.every((event) => event.type === "signal.received")).toBe(true);
    expect(view.buffered.total).toBe(sentCount);
    expect(view.buffered.byName).toEqual({ more: sentCount });
    const shown = view.buffered.signals;
    expect(shown).toHaveLength(BUFFERED_SIGNALS_SHOWN);
    expect(shown[0]!.bytes).toBeGreaterThan(SIGNAL_PREVIEW_BYTES);
    expect(shown[0]).not.toHaveProperty("payload");
    expect(shown.slice(1).map((signal) => signal.payload)).toEqual(Array.from({ length: BUFFERED_SIGNALS_SHOWN - 1 }, (_, i) => i + 1));
    expect(shown.map((signal) => signal.sentAt)).toEqual([
      ...Array.from({ length: 10 }, () => null),
      ...history.slice(0, BUFFERED_SIGNALS_SHOWN - 10).map((event) => event.at),
    ]);
  });
}
