/**
 * The API behind the workers and schedules pages, the runs search, the run page's details (its
 * timeline, its buffered signals) and its repairs (retry, rewind, delete), on the memory engine and
 * on Redis with a worker: the same requests, the same answers.
 */
import { ParkwayClient, WorkflowWorker } from "@parkway/bullmq";
import { createMemoryEngine, flow, type DurableClient } from "@parkway/core";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDashboardApp, type Dashboard } from "../src/server/app.js";
import {
  paths,
  type ActionResult,
  type ApiError,
  type RunDetail,
  type RunsPage,
  type ScheduleActionResult,
  type SchedulesPage,
  type WorkersView,
} from "../src/shared/api.js";
import { batchWorkflow, orderWorkflow, payoutWorkflow, refundWorkflow, workflows } from "./fixtures/order.mjs";
import { countCalls, eventually, readEvents, REDIS_URL, testSpace } from "./helpers.js";

const TOKEN = "pages-s3cret";
const order = (n: number) => ({ id: String(n), items: ["book"], amountCents: 100 });
const DAY_MS = 86_400_000;
/** A workflow no worker registers: nothing advances its runs. */
const audit = flow<number>("audit")
  .then("count", (n) => n)
  .build();
/** Another: its runs keep every signal sent to them, for no worker takes them. */
const held = flow<number>("held").waitForSignal<unknown>("go", "go").build();

interface Harness {
  readonly client: DurableClient;
  readonly engine: "redis" | "embedded";
  close(): Promise<void>;
}

/** An embedded engine: its own one worker, running the fixture workflows. */
function memory(): Promise<Harness> {
  const engine = createMemoryEngine({ workflows });
  return Promise.resolve({ client: engine, engine: "embedded", close: () => engine.close() });
}

/** A client on a fresh Redis namespace, and a worker of that namespace in this process. */
async function redis(): Promise<Harness> {
  const space = testSpace();
  const connection = new Redis(REDIS_URL);
  const options = { connection: REDIS_URL, namespace: space.namespace, workflows };
  const client = new ParkwayClient(options);
  const worker = new WorkflowWorker({ ...options, sweepInterval: 100, sweepGrace: 200 });
  await worker.start();
  return {
    client,
    engine: "redis",
    async close() {
      await worker.close();
      await client.close();
      await space.cleanup(connection);
      connection.disconnect();
    },
  };
}

async function json<T>(response: Response | Promise<Response>): Promise<T> {
  return (await (await response).json()) as T;
}

describe.each([
  ["the memory engine", "mem", memory],
  ["Redis", "redis", redis],
] as const)("on %s", (_store, label, make) => {
  let h: Harness;
  let dashboard: Dashboard;
  /** Run ids of this store: the payout fixture remembers run ids across both stores of this process. */
  const id = (name: string) => `${label}-${name}`;
  const get = <T>(path: string) => json<T>(dashboard.app.request(path));
  const post = (path: string, body: unknown = {}, headers: Record<string, string> = {}) =>
    Promise.resolve(
      dashboard.app.request(path, {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${TOKEN}`, ...headers },
        body: typeof body === "string" ? body : JSON.stringify(body),
      }),
    );
  const reaches = (run: string, status: string) =>
    eventually(async () => (await h.client.status(run)).status === status, `run ${run} to be ${status}`);

  beforeAll(async () => {
    h = await make();
    dashboard = createDashboardApp({ client: h.client, workflows, engine: h.engine, token: TOKEN, pollIntervalMs: 50, log: () => {} });
  });

  afterAll(async () => {
    dashboard.close();
    await h.close();
  });

  describe("workers", () => {
    it("lists the live workers with their workflows and hashes, and streams them", async () => {
      const view = await eventually(async () => {
        const v = await get<WorkersView>(paths.workers);
        return v.workers.length > 0 && v;
      }, "the worker to register");
      expect(view.workers).toHaveLength(1);
      const worker = view.workers[0]!;
      expect(worker.workflows).toContainEqual({ name: "order", hash: orderWorkflow.hash });
      expect(worker).toMatchObject({ pid: process.pid, concurrency: expect.any(Number) as number });
      expect(worker.heartbeatAt).toBeGreaterThanOrEqual(worker.startedAt);
      const stream = readEvents(await dashboard.app.request(paths.workersStream));
      expect((JSON.parse(await stream.next("workers")) as WorkersView).workers.map((w) => w.id)).toEqual([worker.id]);
      await stream.close();
    });

    it("warns on a run's page when no live worker registers its workflow, and only then", async () => {
      await h.client.start(audit, 1, { id: id("audit") });
      const run = await get<RunDetail>(paths.run(id("audit")));
      expect(run.warnings).toEqual([
        { code: "NO_WORKER", message: expect.stringContaining('no live worker registers workflow "audit"') as string },
      ]);
      await h.client.start(orderWorkflow, order(1), { id: id("registered") });
      expect((await get<RunDetail>(paths.run(id("registered")))).warnings).toEqual([]);
    });
  });

  describe("searching runs", () => {
    it("filters by id prefix, workflow and creation range, in either order, reading counts once and no run twice", async () => {
      for (const n of [1, 2, 3]) await h.client.start(orderWorkflow, order(n), { id: id(`search-${n}`) });
      const ids = (page: RunsPage) => page.runs.map((r) => r.id);
      const all = [1, 2, 3].map((n) => id(`search-${n}`));
      const prefix = `idPrefix=${id("search-")}`;
      const oldest = await get<RunsPage>(`/api/runs?${prefix}&order=oldest`);
      expect(ids(oldest)).toEqual(all);
      expect(ids(await get<RunsPage>(`/api/runs?${prefix}`))).toEqual([...all].reverse());
      expect(ids(await get<RunsPage>(`/api/runs?${prefix}&workflow=payout`))).toEqual([]);

      const created = oldest.runs.map((r) => r.createdAt);
      const [first, last] = [Math.min(...created), Math.max(...created)];
      const iso = (ms: number) => new Date(ms).toISOString();
      expect(ids(await get<RunsPage>(`/api/runs?${prefix}&createdBefore=${iso(first)}`))).toEqual([]);
      expect(ids(await get<RunsPage>(`/api/runs?${prefix}&createdAfter=${iso(last + 1)}`))).toEqual([]);
      const range = `${prefix}&createdAfter=${first}&createdBefore=${iso(last + 1)}&order=oldest`;
      expect(ids(await get<RunsPage>(`/api/runs?${range}`))).toEqual(all);

      const { client, calls } = countCalls(h.client);
      const counted = createDashboardApp({ client, workflows, engine: h.engine, log: () => {} });
      const page = await json<RunsPage>(counted.app.request(`/api/runs?${range}&workflow=order&limit=2`));
      expect(ids(page)).toEqual(all.slice(0, 2));
      // Counts are of the workflow filter, whatever the other filters: at least the three searched for.
      expect(Object.values(page.counts).reduce((sum, n) => sum + n, 0)).toBeGreaterThanOrEqual(3);
      expect(Object.fromEntries(calls)).toEqual({ list: 1, counts: 1 });
      const next = await json<RunsPage>(counted.app.request(`/api/runs?${range}&workflow=order&limit=2&cursor=${page.cursor}`));
      expect(ids(next)).toEqual(all.slice(2));
      counted.close();
    });
  });

  describe("searching finished runs", () => {
    it("lists finished runs by when they finished, combined with the other filters; a live run never matches", async () => {
      const ends = [1, 2].map((n) => id(`ended-${n}`));
      for (const run of ends) {
        await h.client.start(refundWorkflow, order(1), { id: run });
        await reaches(run, "failed");
      }
      await h.client.start(audit, 1, { id: id("never-ends") });
      const finishedAt = await Promise.all(ends.map(async (run) => (await h.client.status(run)).finishedAt!));
      const iso = (ms: number) => new Date(ms).toISOString();
      const ids = (page: RunsPage) => page.runs.map((r) => r.id);
      const since = `finishedAfter=${iso(finishedAt[0]!)}&idPrefix=${id("")}`;
      const page = await get<RunsPage>(`/api/runs?${since}`);
      expect(ids(page)).toEqual([...ends].reverse());
      expect(page.runs.map((r) => r.finishedAt)).toEqual([...finishedAt].reverse());
      expect(ids(await get<RunsPage>(`/api/runs?${since}&order=oldest&workflow=refund&status=failed`))).toEqual(ends);
      expect(ids(await get<RunsPage>(`/api/runs?${since}&finishedBefore=${finishedAt[1]}`))).toEqual(ends.slice(0, 1));
      expect(ids(await get<RunsPage>(`/api/runs?${since}&status=pending`))).toEqual([]);
      expect(ids(await get<RunsPage>(`/api/runs?${since}&workflow=audit`))).toEqual([]);
      const stream = readEvents(await dashboard.app.request(`${paths.runsStream}?${since}&limit=1`));
      expect(ids(JSON.parse(await stream.next("runs")) as RunsPage)).toEqual([ends[1]]);
      await stream.close();
    });
  });

  describe("a run's page", () => {
    it("shows the run's history, oldest first, and the signals sent to it and not taken yet", async () => {
      const run = id("held");
      await h.client.start(held, 1, { id: run });
      await h.client.signal(run, "go", { by: "<b>ops</b>" });
      await h.client.signal(run, "go", "x".repeat(5_000));
      const detail = await get<RunDetail>(paths.run(run));
      expect(detail.buffered).toMatchObject({ total: 2, byName: { go: 2 } });
      const [first, second] = detail.buffered.signals;
      expect(first).toMatchObject({ name: "go", payload: { by: "<b>ops</b>" } });
      expect(second).not.toHaveProperty("payload");
      expect(second!.bytes).toBeGreaterThan(5_000);
      const received = detail.history.filter((e) => e.type === "signal.received");
      expect(received.map((e) => e.at)).toEqual([first!.sentAt, second!.sentAt]);
      expect(detail.history[0]).toMatchObject({ type: "started" });
      expect(detail.finishedAt).toBeNull();
      await h.client.cancel(run);
      const cancelled = await get<RunDetail>(paths.run(run));
      expect(cancelled.buffered.total).toBe(0);
      expect(cancelled.history.at(-1)).toMatchObject({ type: "cancelled", at: cancelled.finishedAt });
    });

    it("links a run's child runs, and a child run to its parent", async () => {
      await h.client.start(batchWorkflow, order(7), { id: id("batch") });
      await expect(h.client.result(id("batch"), { timeout: "20s" })).resolves.toEqual({ pong: "7" });
      const parent = await get<RunDetail>(paths.run(id("batch")));
      expect(parent.children).toEqual([{ key: "ping", id: expect.any(String) as string }]);
      const child = parent.children[0]!.id;
      expect(parent.tree?.[0]?.detail).toEqual({ kind: "child", workflow: "ping", instanceId: child });
      expect((await get<RunDetail>(paths.run(child))).parent).toEqual({ id: id("batch"), key: "ping" });
    });

    it("shows each step's latest heartbeat, the failed step's error, and a failed run's compensations", async () => {
      await h.client.start(payoutWorkflow, order(8), { id: id("payout-progress") });
      await reaches(id("payout-progress"), "failed");
      const payout = await get<RunDetail>(paths.run(id("payout-progress")));
      expect(payout.progress.count).toEqual({ details: { counted: 100, of: 100 }, at: expect.any(Number) as number });
      expect(payout.tree?.find((n) => n.key === "transfer")).toMatchObject({
        state: "failed",
        error: { message: "the bank declined the transfer" },
      });
      expect(payout.compensations).toEqual([]);

      await h.client.start(refundWorkflow, order(9), { id: id("refund") });
      await reaches(id("refund"), "failed");
      const refund = await get<RunDetail>(paths.run(id("refund")));
      expect(refund.compensations).toEqual([{ key: "hold", compensated: true, error: null }]);
      expect(refund.steps.map((s) => s.key)).toContain("hold#compensate");
      // Parkway's own keys are not steps to rewind to.
      expect(refund.rewindTargets).toEqual(["hold"]);
    });
  });

  describe("repairs", () => {
    it("retries a failed run from the step that failed, and refuses to retry one that did not fail", async () => {
      const run = id("payout-retry");
      await h.client.start(payoutWorkflow, order(3), { id: run });
      await reaches(run, "failed");
      const retried = await json<ActionResult>(post(paths.action(run, "retry")));
      expect(retried).toMatchObject({ ok: true, message: "run retried: it goes on from the step that failed" });
      await expect(h.client.result(run, { timeout: "20s" })).resolves.toEqual({ paid: 100 });
      const again = await post(paths.action(run, "retry"));
      expect(again.status).toBe(409);
      expect((await json<ApiError>(again)).error.code).toBe("RUN_STATE");
    });

    it("rewinds a run to a step: that step and every step after it run again", async () => {
      const run = id("rewind");
      await h.client.start(orderWorkflow, order(4), { id: run });
      await reaches(run, "parked");
      await h.client.signal(run, "approved", { by: "ops" });
      await h.client.result(run, { timeout: "20s" });
      const before = await get<RunDetail>(paths.run(run));
      expect(before.rewindTargets).toEqual(expect.arrayContaining(["reserve", "merge", "approval", "cool-off", "ship"]));
      const rewound = await json<ActionResult>(post(paths.action(run, "rewind"), { to: "approval" }));
      expect(rewound.message).toBe('run rewound to step "approval"');
      await reaches(run, "parked");
      const after = await get<RunDetail>(paths.run(run));
      expect(after.waitingFor).toMatchObject([{ kind: "signal", signal: "approved" }]);
      expect(after.version).toBeGreaterThan(before.version);
      // A fork's branches commit under their branch: `charge/charge`; the fork itself under its join.
      expect([...after.rewindTargets].sort()).toEqual(["charge/charge", "merge", "pack/pack", "reserve"]);
    });

    it.each([
      ["a step the workflow does not have", { to: "nope" }, 400, /has no step "nope"/],
      ["no step", {}, 400, /rewind: to must be a non-empty string/],
      ["an unknown field", { to: "reserve", from: "ship" }, 400, /unknown field "from"/],
      ["a body that is not an object", "[]", 400, /must be a JSON object \{ "to"/],
    ])("refuses a rewind to %s, changing nothing", async (_what, body, status, message) => {
      const run = id("rewind-refused");
      await h.client.start(orderWorkflow, order(5), { id: run });
      await reaches(run, "parked");
      const { version } = await h.client.status(run);
      const response = await post(paths.action(run, "rewind"), body);
      expect(response.status).toBe(status);
      expect((await json<ApiError>(response)).error.message).toMatch(message);
      expect(await h.client.status(run)).toMatchObject({ status: "parked", version });
    });

    it("refuses a rewind not sent as JSON with 415", async () => {
      const response = await post(paths.action(id("rewind-refused"), "rewind"), JSON.stringify({ to: "reserve" }), {
        "Content-Type": "text/plain",
      });
      expect(response.status).toBe(415);
    });

    it("deletes a finished run, and refuses to delete a live one", async () => {
      const run = id("delete");
      await h.client.start(orderWorkflow, order(6), { id: run });
      await reaches(run, "parked");
      const live = await post(paths.action(run, "delete"));
      expect(live.status).toBe(409);
      expect((await json<ApiError>(live)).error.code).toBe("RUN_STATE");
      expect((await post(paths.action(run, "delete"), { force: true })).status).toBe(400);
      await h.client.cancel(run);
      expect(await json<ActionResult>(post(paths.action(run, "delete")))).toEqual({
        ok: true,
        status: null,
        immediate: true,
        message: "run deleted",
      });
      const gone = await dashboard.app.request(paths.run(run));
      expect(gone.status).toBe(404);
      expect((await json<ApiError>(gone)).error.code).toBe("UNKNOWN_INSTANCE");
    });
  });

  describe("schedules", () => {
    beforeAll(async () => {
      await h.client.schedules.create("nightly", orderWorkflow, { cron: "0 3 * * *", input: order(1) });
      await h.client.schedules.create("weekly", orderWorkflow, { cron: "0 9 * * 1", timezone: "Europe/Paris", input: order(2) });
    });

    it("lists schedules in id order with their next ticks and last run, a page at a time", async () => {
      const first = await get<SchedulesPage>("/api/schedules?limit=1");
      expect(first.cursor).toBe("nightly");
      const [nightly] = first.schedules;
      expect(nightly).toMatchObject({
        id: "nightly",
        workflow: "order",
        cron: "0 3 * * *",
        timezone: null,
        overlap: "skip",
        catchup: "none",
        paused: false,
        lastRun: null,
        input: order(1),
      });
      expect(nightly!.nextTicks).toHaveLength(3);
      const [a, b, c] = nightly!.nextTicks as [number, number, number];
      expect([new Date(a).getUTCHours(), b - a, c - b]).toEqual([3, DAY_MS, DAY_MS]);
      const second = await get<SchedulesPage>(`/api/schedules?cursor=${first.cursor}`);
      expect(second.schedules.map((s) => [s.id, s.timezone])).toEqual([["weekly", "Europe/Paris"]]);
      expect(second.cursor).toBeNull();
    });

    it("pauses, resumes and triggers a schedule", async () => {
      const paused = await json<ScheduleActionResult>(post(paths.scheduleAction("nightly", "pause")));
      expect(paused).toMatchObject({ ok: true, run: null, message: "schedule nightly paused", schedule: { paused: true, nextTicks: [] } });
      const resumed = await json<ScheduleActionResult>(post(paths.scheduleAction("nightly", "resume")));
      expect(resumed.schedule).toMatchObject({ paused: false, nextTicks: expect.any(Array) as number[] });
      expect(resumed.schedule.nextTicks).toHaveLength(3);
      const triggered = await json<ScheduleActionResult>(post(paths.scheduleAction("nightly", "trigger")));
      expect(triggered.run).toMatch(/^nightly@\d{4}-/);
      expect(triggered.schedule.lastRun).toBe(triggered.run);
      expect(triggered.message).toBe(`schedule nightly started run ${triggered.run}`);
      await expect(h.client.status(triggered.run!)).resolves.toMatchObject({ workflow: "order" });
    });

    it.each([
      ["an unknown schedule", paths.scheduleAction("never", "pause"), {}, 404, "UNKNOWN_SCHEDULE"],
      ["an id with @", paths.scheduleAction("a@b", "pause"), {}, 400, "VALIDATION"],
      ["a body with a field", paths.scheduleAction("weekly", "trigger"), { at: 1 }, 400, "VALIDATION"],
    ])("answers %s with its code, changing nothing", async (_what, path, body, status, code) => {
      const response = await post(path, body);
      expect(response.status).toBe(status);
      expect((await json<ApiError>(response)).error.code).toBe(code);
      expect(await h.client.schedules.get("weekly")).toMatchObject({ paused: false, lastRun: null });
    });

    it("streams the schedules page", async () => {
      const stream = readEvents(await dashboard.app.request(`${paths.schedulesStream}?limit=1`));
      expect((JSON.parse(await stream.next("schedules")) as SchedulesPage).schedules.map((s) => s.id)).toEqual(["nightly"]);
      await stream.close();
    });
  });

  describe("the action token", () => {
    it("is needed by every repair and schedule action, which change nothing without it", async () => {
      const run = id("guarded");
      await h.client.start(orderWorkflow, order(2), { id: run });
      await reaches(run, "parked");
      await h.client.cancel(run);
      const { version } = await h.client.status(run);
      const actions = [
        [paths.action(run, "retry"), {}],
        [paths.action(run, "rewind"), { to: "reserve" }],
        [paths.action(run, "delete"), {}],
        [paths.scheduleAction("weekly", "pause"), {}],
        [paths.scheduleAction("weekly", "resume"), {}],
        [paths.scheduleAction("weekly", "trigger"), {}],
      ] as const;
      for (const [path, body] of actions) {
        for (const authorization of ["", "Bearer wrong"]) {
          const refused = await post(path, body, { Authorization: authorization });
          expect(refused.status, `${path} ${authorization}`).toBe(401);
          expect(refused.headers.get("www-authenticate")).toMatch(/^Bearer/);
        }
      }
      expect(await h.client.status(run)).toMatchObject({ status: "cancelled", version });
      expect(await h.client.schedules.get("weekly")).toMatchObject({ paused: false, lastRun: null });
    });
  });
});
