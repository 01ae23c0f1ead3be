/**
 * The behaviour suite's cases for schedules: ticks, overlap policies, catch-up, pause, resume,
 * trigger and delete. Declared by `describeEngineConformance`, so every store runs them. Ticks
 * are a second apart (the finest cron grain), so on real time these take a few seconds each.
 */
import { expect, it } from "vitest";
import { flow } from "../builder/flow.js";
import type { Workflow } from "../builder/workflow.js";
import type { DurableRunnerOptions } from "../engine/memory-engine.js";
import { tickAfter, tickRunId } from "../engine/schedule-ticks.js";
import type { EngineHarness, EngineUnderTest } from "./harness.js";

const EVERY_SECOND = "* * * * * *";

/** Declares the schedule cases; `harness` is read when each test runs. */
export function scheduleCases(harness: () => EngineHarness): void {
  const engine = (workflows: readonly Workflow<never, unknown>[], options?: DurableRunnerOptions) => harness().create(workflows, options);

  /** Run ids of the schedule's runs, oldest first. */
  const runsOf = async (e: EngineUnderTest, id: string) => (await e.list({ idPrefix: `${id}@`, order: "oldest" })).runs.map((r) => r.id);

  /** Lets store time pass in steps of 100ms until `accept` holds (at most `ms`). */
  async function waitFor<T>(read: () => Promise<T>, accept: (value: T) => boolean, ms: number, what: string): Promise<T> {
    let value = await read();
    for (let spent = 0; !accept(value); spent += 100) {
      if (spent >= ms) throw new Error(`${what}: still ${JSON.stringify(value)} after ${ms}ms`);
      await harness().advance(100);
      value = await read();
    }
    return value;
  }

  const quick = flow<number>("tick")
    .then("echo", (n) => n)
    .build();
  const held = flow<null>("held").waitForSignal<null>("wait", "done").build();

  it("each tick starts one run, named <schedule id>@<tick time>; deleting the schedule stops them", async () => {
    const e = await engine([quick]);
    const created = await e.schedules.create("every", quick, { cron: EVERY_SECOND, input: 7, overlap: "allow" });
    expect(created).toMatchObject({ id: "every", workflow: "tick", paused: false, lastRun: null });
    const first = created.nextTickAt!;
    const ids = await waitFor(
      () => runsOf(e, "every"),
      (r) => r.length >= 3,
      5_000,
      "runs of every",
    );
    expect(ids.slice(0, 3)).toEqual([first, first + 1000, first + 2000].map((t) => tickRunId("every", t)));
    expect(await e.result(ids[0]!)).toBe(7);
    await e.schedules.delete("every");
    await expect(e.schedules.get("every")).rejects.toMatchObject({ code: "UNKNOWN_SCHEDULE" });
    const after = (await runsOf(e, "every")).length;
    await harness().advance(1_500);
    expect((await runsOf(e, "every")).length).toBeLessThanOrEqual(after + 1); // a tick being started as it went may still start
  });

  it("overlap skip starts nothing while the previous run is live", async () => {
    const e = await engine([held]);
    await e.schedules.create("skipper", held, { cron: EVERY_SECOND, input: null, overlap: "skip" });
    const [first] = await waitFor(
      () => runsOf(e, "skipper"),
      (r) => r.length >= 1,
      3_000,
      "first run",
    );
    await waitFor(
      () => e.schedules.get("skipper"),
      (s) => s.skipped >= 2,
      4_000,
      "skipped ticks",
    );
    expect(await runsOf(e, "skipper")).toEqual([first]);
    await e.signal(first!, "done", null);
    await waitFor(
      () => runsOf(e, "skipper"),
      (r) => r.length >= 2,
      3_000,
      "a run after the first finished",
    );
  });

  it("overlap bufferOne starts one run for the ticks that came while the previous was live, once it finishes", async () => {
    const e = await engine([held]);
    await e.schedules.create("buffer", held, { cron: EVERY_SECOND, input: null, overlap: "bufferOne" });
    const [first] = await waitFor(
      () => runsOf(e, "buffer"),
      (r) => r.length >= 1,
      3_000,
      "first run",
    );
    const buffered = await waitFor(
      () => e.schedules.get("buffer"),
      (s) => s.bufferedTickAt !== null && s.skipped >= 1,
      4_000,
      "buffered",
    );
    expect(await runsOf(e, "buffer")).toEqual([first]);
    await e.signal(first!, "done", null);
    const ids = await waitFor(
      () => runsOf(e, "buffer"),
      (r) => r.length >= 2,
      3_000,
      "the buffered run",
    );
    expect(ids[1]).toBe(tickRunId("buffer", buffered.bufferedTickAt!));
  });

  it("a paused schedule starts nothing at ticks; trigger starts a run at once; resume goes on from the next tick", async () => {
    const e = await engine([quick]);
    await e.schedules.create("pausing", quick, { cron: EVERY_SECOND, input: 1, overlap: "allow" });
    const paused = await e.schedules.pause("pausing");
    expect(paused).toMatchObject({ paused: true, nextTickAt: null });
    await harness().advance(1_500);
    expect(await runsOf(e, "pausing")).toEqual([]);
    const triggered = await e.schedules.trigger("pausing");
    expect(triggered).toMatch(/^pausing@\d{4}-\d\d-\d\dT/);
    expect(await e.result(triggered)).toBe(1);
    expect((await e.schedules.get("pausing")).lastRun).toBe(triggered);
    const resumed = await e.schedules.resume("pausing");
    expect(resumed.paused).toBe(false);
    const ids = await waitFor(
      () => runsOf(e, "pausing"),
      (r) => r.length >= 2,
      3_000,
      "a run after resume",
    );
    expect(ids[1]).toBe(tickRunId("pausing", resumed.nextTickAt!));
    const listed = await e.schedules.list();
    expect(listed.schedules.map((s) => s.id)).toEqual(["pausing"]);
  });

  it("update changes the input and cron of the next ticks", async () => {
    const e = await engine([quick]);
    await e.schedules.create("changing", quick, { cron: "0 0 1 1 *", input: 1 });
    const updated = await e.schedules.update("changing", { cron: EVERY_SECOND, input: 2, overlap: "allow" });
    expect(updated).toMatchObject({ cron: EVERY_SECOND, input: 2, overlap: "allow", catchup: "none" });
    const [first] = await waitFor(
      () => runsOf(e, "changing"),
      (r) => r.length >= 1,
      3_000,
      "a run",
    );
    expect(await e.result(first!)).toBe(2);
  });

  /** Makes the schedule look as after a downtime: its next tick five minutes back, no worker having handled it. */
  async function afterDowntime(e: EngineUnderTest, id: string): Promise<{ now: number }> {
    const s = (await e.store.getSchedule(id))!;
    const back = tickAfter(s.state, s.now - 5 * 60_000 - 1)!;
    await e.store.putSchedule({
      id,
      version: s.version,
      state: { ...s.state, paused: false, nextAt: back },
      input: null,
      due: { at: s.now },
    });
    await e.schedules.update(id, {}); // a write through the client, so the engine looks at its schedules again
    return { now: s.now };
  }

  it("after a downtime, catchup latest runs the most recent missed tick, and none runs no missed tick", async () => {
    const e = await engine([quick]);
    const minutely = "0 * * * * *";
    for (const catchup of ["latest", "none"] as const) {
      await e.schedules.create(`catch-${catchup}`, quick, { cron: minutely, input: 3, catchup, overlap: "allow" });
      await e.schedules.pause(`catch-${catchup}`);
    }
    const { now } = await afterDowntime(e, "catch-latest");
    await afterDowntime(e, "catch-none");
    // The ticks' times, by when the worker got to them (now, or a moment later on real time): a
    // tick more than a minute late by then was missed.
    const ticks = async (id: string) => (await runsOf(e, id)).map((run) => Date.parse(run.slice(run.indexOf("@") + 1)));
    const latest = await waitFor(
      () => ticks("catch-latest"),
      (t) => t.length > 0,
      3_000,
      "the latest missed tick",
    );
    expect(latest[0]).toBeGreaterThanOrEqual(now - 120_000);
    expect(latest[0]).toBeLessThanOrEqual(now - 55_000);
    // Then the ticks of the last minute, each once.
    expect(latest).toEqual(latest.map((_, i) => latest[0]! + i * 60_000));
    await waitFor(
      () => e.schedules.get("catch-none"),
      (s) => s.nextTickAt !== null && s.nextTickAt > now - 61_000,
      3_000,
      "moved on",
    );
    for (const t of await ticks("catch-none")) expect(t).toBeGreaterThanOrEqual(now - 61_000);
  });

  it("bad schedules are refused with a ValidationError naming what is wrong, and nothing is stored", async () => {
    const e = await engine([quick]);
    const bad = async (id: string, options: object, match: RegExp) => {
      await expect(e.schedules.create(id, quick, options as never)).rejects.toMatchObject({ code: "VALIDATION", message: match });
      await expect(e.schedules.get(id.includes("@") || id.length === 0 || /[\uD800-\uDFFF]/.test(id) ? "x" : id)).rejects.toMatchObject({
        code: "UNKNOWN_SCHEDULE",
      });
    };
    await bad("s", { cron: "every tuesday", input: 1 }, /cron/);
    await bad("s", { cron: EVERY_SECOND, timezone: "Mars/Olympus", input: 1 }, /time zone/);
    await bad("s", { cron: EVERY_SECOND, input: 1, overlapp: "skip" }, /unknown option "overlapp"/);
    await bad("s", { cron: EVERY_SECOND, input: 1, overlap: "queue" }, /overlap/);
    await bad("s", { cron: EVERY_SECOND, input: 1, catchup: "all" }, /catchup/);
    await bad("a@b", { cron: EVERY_SECOND, input: 1 }, /"@"/);
    await bad("lone\uD800", { cron: EVERY_SECOND, input: 1 }, /schedule id/);
    await e.schedules.create("twice", quick, { cron: EVERY_SECOND, input: 1 });
    await expect(e.schedules.create("twice", quick, { cron: EVERY_SECOND, input: 1 })).rejects.toMatchObject({ code: "SCHEDULE_EXISTS" });
    await expect(e.schedules.pause("nope")).rejects.toMatchObject({ code: "UNKNOWN_SCHEDULE" });
    await expect(e.schedules.update("twice", { cron: "nope" })).rejects.toMatchObject({ code: "VALIDATION" });
    expect((await e.schedules.get("twice")).cron).toBe(EVERY_SECOND);
  });
}
