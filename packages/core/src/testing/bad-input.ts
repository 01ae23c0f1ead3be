/**
 * Bad input at the client API, on every store: each case expects a typed
 * error naming what was wrong, and a store left as it was (nothing committed
 * lost, other runs unaffected). Cases the behaviour suite already covers
 * (a function or cyclic input, an input over the limit, an empty or
 * non-string id at start, an unknown workflow name, a signal to a cancelled
 * run, a task output that is a function) are not repeated here.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { flow } from "../builder/flow.js";
import type { Workflow } from "../builder/workflow.js";
import type { DurableRunnerOptions } from "../engine/memory-engine.js";
import { statusWaits, type EngineHarness } from "./harness.js";

/** Declares the bad-input suite for the engine a harness makes. */
export function describeBadInputConformance(name: string, makeHarness: () => EngineHarness | Promise<EngineHarness>): void {
  describe(`bad input: ${name}`, () => {
    let h: EngineHarness;
    beforeEach(async () => {
      h = await makeHarness();
    });
    afterEach(async () => {
      await h.cleanup();
    });

    const engine = (workflows: readonly Workflow<never, unknown>[], options?: DurableRunnerOptions) => h.create(workflows, options);

    const { until, parked, finished } = statusWaits(() => h);

    /** A run that commits a step, then waits for signal "go" and echoes it. */
    const waiter = flow<number>("bad-input-waiter")
      .then("double", (n) => n * 2)
      .waitForSignal<unknown>("approval", "go")
      .then("echo", (p) => ({ got: p }))
      .build();

    it("a signal payload that cannot be encoded is refused with CodecError; nothing is buffered and the run takes the next good one", async () => {
      const e = await engine([waiter]);
      await e.start(waiter, 1, { id: "w" });
      const before = await parked(e, "w");
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      for (const bad of [() => 1, cyclic, { deep: [Symbol("s")] }]) {
        await expect(e.signal("w", "go", bad)).rejects.toMatchObject({ code: "CODEC", context: { instanceId: "w" } });
      }
      const after = await e.status("w");
      expect({ status: after.status, version: after.version, steps: after.steps }).toEqual({
        status: "parked",
        version: before.version,
        steps: before.steps,
      });
      await e.signal("w", "go", "good");
      expect((await finished(e, "w")).output).toEqual({ got: "good" });
    });

    it("a payload over the limit is refused with PayloadTooLargeError: a signal buffers nothing, a task output fails its run and keeps what was committed", async () => {
      const big = flow<null>("bad-input-big")
        .then("small", () => "ok")
        .then("huge", () => "x".repeat(4096))
        .build();
      const e = await engine([waiter, big], { maxPayloadBytes: 1024 });
      await e.start(waiter, 1, { id: "w" });
      await parked(e, "w");
      await expect(e.signal("w", "go", "y".repeat(2048))).rejects.toMatchObject({ code: "PAYLOAD_TOO_LARGE" });
      await e.start(big, null, { id: "big" });
      const failed = await finished(e, "big");
      expect(failed.status).toBe("failed");
      expect(failed.error?.code).toBe("PAYLOAD_TOO_LARGE");
      expect(failed.steps.map((s) => s.key)).toEqual(["small"]);
      await e.signal("w", "go", "fits");
      expect((await finished(e, "w")).output).toEqual({ got: "fits" });
    });

    it("a task output that is a cyclic object fails the run with CodecError naming the step; committed steps stay, other runs finish", async () => {
      const cyclic = flow<null>("bad-input-cyclic")
        .then("fine", () => 1)
        .then("loop", () => {
          const o: Record<string, unknown> = {};
          o.me = o;
          return o;
        })
        .build();
      const e = await engine([cyclic, waiter]);
      await e.start(waiter, 2, { id: "other" });
      await e.start(cyclic, null, { id: "cyc" });
      const view = await finished(e, "cyc");
      expect(view.status).toBe("failed");
      expect(view.error).toMatchObject({ code: "CODEC", context: { instanceId: "cyc" } });
      expect(view.error?.message).toMatch(/step "loop".*cyclic/);
      expect(view.steps.map((s) => s.key)).toEqual(["fine"]);
      await parked(e, "other");
      await e.signal("other", "go", 1);
      expect((await finished(e, "other")).status).toBe("completed");
    });

    it("every operation on a finished run that would change it is refused with RunFinishedError, and the run stays as it ended", async () => {
      const fails = flow<null>("bad-input-fails")
        .then("boom", () => {
          throw new Error("no");
        })
        .build();
      const e = await engine([waiter, fails]);
      await e.start(waiter, 1, { id: "done" });
      await parked(e, "done");
      await e.signal("done", "go", "x");
      await e.start(fails, null, { id: "failed" });
      for (const id of ["done", "failed"]) {
        const ended = await finished(e, id);
        for (const op of [() => e.signal(id, "go", 1), () => e.cancel(id), () => e.pause(id), () => e.resume(id)]) {
          await expect(op()).rejects.toMatchObject({ code: "RUN_FINISHED", context: { instanceId: id, status: ended.status } });
        }
        expect(await e.status(id)).toEqual(ended);
      }
    });

    it("every operation on an id never started is refused with UnknownInstanceError and creates nothing", async () => {
      const e = await engine([waiter]);
      for (const op of [() => e.cancel("ghost"), () => e.pause("ghost"), () => e.resume("ghost"), () => e.result("ghost")]) {
        await expect(op()).rejects.toMatchObject({ code: "UNKNOWN_INSTANCE", context: { instanceId: "ghost" } });
      }
      expect((await e.list()).runs).toEqual([]);
    });

    it("non-string ids and empty names are refused with ValidationError at the API boundary, before any run is touched", async () => {
      const e = await engine([waiter]);
      await e.start(waiter, 1, { id: "w" });
      const before = await parked(e, "w");
      const bad: unknown[] = [undefined, null, 7, {}, ["w"], ""];
      const calls = bad.flatMap((value) => {
        const v = value as string;
        return [
          () => e.signal(v, "go", 1),
          () => e.signal("w", v, 1),
          () => e.signal("w", "go", 1, { deliveryId: v ?? "" }),
          () => e.status(v),
          () => e.result(v),
          () => e.cancel(v),
          () => e.pause(v),
          () => e.resume(v),
        ];
      });
      for (const call of calls) await expect(call()).rejects.toMatchObject({ code: "VALIDATION" });
      await expect(e.list({ workflow: "" })).rejects.toMatchObject({ code: "VALIDATION" });
      await expect(e.start(waiter, 1, { id: "x".repeat(513) })).rejects.toMatchObject({ code: "VALIDATION" });
      // A null id is a caller's bug, not a request for a generated id: it must not start a run.
      await expect(e.start(waiter, 1, { id: null as unknown as string })).rejects.toMatchObject({ code: "VALIDATION" });
      expect(await e.status("w")).toEqual(before);
      expect((await e.list()).runs.map((r) => r.id)).toEqual(["w"]);
    });

    it("ids and names with a lone surrogate (ill-formed UTF-16) are refused with ValidationError naming the field", async () => {
      const e = await engine([waiter]);
      // As UTF-8 (what Redis stores) both lone surrogates become U+FFFD: they would name one run.
      await expect(e.start(waiter, 1, { id: "order-\ud83e" })).rejects.toMatchObject({ code: "VALIDATION", message: /instance id/ });
      await expect(e.start(waiter, 1, { id: "order-\udc00" })).rejects.toMatchObject({ code: "VALIDATION", message: /instance id/ });
      await e.start(waiter, 1, { id: "w" });
      const before = await parked(e, "w");
      const refused: [() => Promise<unknown>, RegExp][] = [
        [() => e.signal("w", "go\ud800", 1), /signal name/],
        [() => e.signal("w\udfff", "go", 1), /instance id/],
        [() => e.signal("w", "go", 1, { deliveryId: "d\ud800" }), /signal delivery id/],
        [() => e.status("w\ud800"), /instance id/],
        [() => e.cancel("w\ud800"), /instance id/],
        [() => e.list({ workflow: "bad-input-waiter\ud800" }), /workflow name/],
      ];
      for (const [call, field] of refused) await expect(call()).rejects.toMatchObject({ code: "VALIDATION", message: field });
      expect(await e.status("w")).toEqual(before);
      expect((await e.list()).runs.map((r) => r.id)).toEqual(["w"]);
      // A well-formed pair is one character, not a lone surrogate.
      expect((await e.start(waiter, 1, { id: "order-\ud83e\udd20" })).created).toBe(true);
    });

    it("a list cursor no page returned, an unknown list option or a bad limit is a ValidationError naming it", async () => {
      const e = await engine([waiter]);
      for (const id of ["l1", "l2", "l3"]) await e.start(waiter, 1, { id });
      const b64 = (text: string) => Buffer.from(text).toString("base64url");
      const cursors: unknown[] = ["garbage!", "abc", "%%%", b64("[1]"), b64('["x","y"]'), b64('{"a":1}'), b64("[1,2]"), b64("not json")];
      for (const cursor of [...cursors, 5, null, {}]) {
        await expect(e.list({ cursor: cursor as string })).rejects.toMatchObject({ code: "VALIDATION", message: /cursor/ });
      }
      const options: [unknown, RegExp][] = [
        [{ statuz: "parked" }, /statuz/],
        [{ limit: "5" }, /limit/],
        [{ limit: 0 }, /limit/],
        [{ limit: 10_001 }, /limit/],
        [{ limit: 1.5 }, /limit/],
        [{ status: 5 }, /status/],
        [{ workflow: 5 }, /workflow/],
        [{ order: "random" }, /order/],
        [{ order: null }, /order/],
        [{ idPrefix: "" }, /idPrefix/],
        [{ idPrefix: 5 }, /idPrefix/],
        [{ createdAfter: "yesterday" }, /createdAfter/],
        [{ createdAfter: -1 }, /createdAfter/],
        [{ createdAfter: 1.5 }, /createdAfter/],
        [{ createdBefore: Number.NaN }, /createdBefore/],
        [{ createdBefore: new Date("not a date") }, /createdBefore/],
        [{ createdAfter: 20, createdBefore: 10 }, /createdAfter.*later/],
        [{ finishedAfter: "yesterday" }, /finishedAfter/],
        [{ finishedAfter: -1 }, /finishedAfter/],
        [{ finishedAfter: Number.MAX_VALUE }, /finishedAfter/],
        [{ finishedBefore: 2.5 }, /finishedBefore/],
        [{ finishedBefore: new Date("not a date") }, /finishedBefore/],
        [{ finishedBefore: null }, /finishedBefore/],
        [{ finishedAfter: 20, finishedBefore: 10 }, /finishedAfter.*later/],
        [{ finishedAfter: new Date(20), finishedBefore: new Date(10), status: "completed" }, /finishedAfter.*later/],
        [{ finishedafter: 10 }, /finishedafter/],
        [null, /query/],
        ["parked", /query/],
      ];
      for (const [query, named] of options) {
        await expect(e.list(query as object)).rejects.toMatchObject({ code: "VALIDATION", message: named });
      }
      // A cursor a page returned still works, in either order.
      const pages = async (order: "newest" | "oldest") => {
        const first = await e.list({ limit: 2, order });
        return [...first.runs, ...(await e.list({ limit: 2, order, cursor: first.cursor! })).runs].map((r) => r.id);
      };
      const newest = await pages("newest");
      expect([...newest].sort()).toEqual(["l1", "l2", "l3"]);
      expect(await pages("oldest")).toEqual([...newest].reverse());
    });

    it("start refuses a workflow not built by flow().build() with ValidationError, and stores nothing", async () => {
      const e = await engine([waiter]);
      const fakes: unknown[] = [
        { kind: "workflow" },
        { kind: "workflow", name: "fake", hash: "h", root: waiter.root, functions: new Map() },
        { ...waiter, name: "renamed" },
      ];
      for (const fake of fakes) {
        await expect(e.start(fake as Workflow, 1, { id: "fake" })).rejects.toMatchObject({ code: "VALIDATION", message: /flow/ });
      }
      expect((await e.list()).runs).toEqual([]);
      expect((await e.start(waiter, 1, { id: "real" })).created).toBe(true);
    });

    it("a signal sent again with the same delivery id is buffered once, even after the run finished", async () => {
      const twice = flow<null>("bad-input-two-waits").waitForSignal<string>("one", "go").waitForSignal<string>("two", "go").build();
      const e = await engine([twice]);
      await e.start(twice, null, { id: "t" });
      await parked(e, "t");
      await e.signal("t", "go", "first", { deliveryId: "d-1" });
      await e.signal("t", "go", "first again", { deliveryId: "d-1" });
      const waiting = await until(e, "t", (v) => v.status === "parked" && v.steps.length === 1, "waiting at its second wait");
      expect(waiting.steps[0]).toMatchObject({ key: "one", output: "first" });
      await e.signal("t", "go", "second", { deliveryId: "d-2" });
      expect((await finished(e, "t")).output).toBe("second");
      await expect(e.signal("t", "go", "second", { deliveryId: "d-2" })).resolves.toBeUndefined();
      await expect(e.signal("t", "go", "third", { deliveryId: "d-3" })).rejects.toMatchObject({ code: "RUN_FINISHED" });
    });
  });
}
