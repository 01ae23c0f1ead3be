import { ParkwayClient } from "@parkway/bullmq";
import type { DurableClient } from "@parkway/core";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDashboardApp, type Dashboard, type DashboardOptions } from "../src/server/app.js";
import { paths, type ApiError, type DashboardMeta, type RunDetail, type RunsPage } from "../src/shared/api.js";
import { orderWorkflow } from "./fixtures/order.mjs";
import { countCalls, readEvents, REDIS_URL, testSpace } from "./helpers.js";

/** More runs than the old count cap of 1,000, so an exact count proves the counts come from the indexes. */
const RUNS = 1_050;
const CANCELLED = 30;
const READ_TOKEN = "read-s3cret";
const ACTION_TOKEN = "act-s3cret";

const space = testSpace();
const redis = new Redis(REDIS_URL);
let client: ParkwayClient;
const open: Dashboard[] = [];

/** The Redis client, with every call of each method counted: how often the dashboard reads the store. */
function counting(): { client: DurableClient; calls: Map<string, number> } {
  return countCalls<DurableClient>(client);
}

function dashboardOn(c: DurableClient, options: Partial<DashboardOptions> = {}): Dashboard {
  const dashboard = createDashboardApp({ client: c, workflows: [orderWorkflow], engine: "redis", log: () => {}, ...options });
  open.push(dashboard);
  return dashboard;
}

beforeAll(async () => {
  client = new ParkwayClient({ connection: REDIS_URL, namespace: space.namespace });
  const input = { id: "1", items: ["book"], amountCents: 100 };
  // No worker runs here: the runs stay pending, except those cancelled below.
  for (let i = 0; i < RUNS; i += 50) {
    await Promise.all(Array.from({ length: 50 }, (_, j) => client.start(orderWorkflow, input, { id: `r${i + j}` })));
  }
  for (let i = 0; i < CANCELLED; i++) await client.cancel(`r${i}`);
}, 120_000);

afterAll(async () => {
  for (const dashboard of open) dashboard.close();
  await client?.close();
  await space.cleanup(redis);
  redis.disconnect();
});

describe("counts", () => {
  it("are exact past 1,000 runs, read once from the indexes, not by paging", async () => {
    const { client: c, calls } = counting();
    const page = (await (await dashboardOn(c).app.request("/api/runs?limit=5")).json()) as RunsPage;
    expect(page.counts).toEqual({
      pending: RUNS - CANCELLED,
      running: 0,
      parked: 0,
      paused: 0,
      completed: 0,
      failed: 0,
      cancelled: CANCELLED,
    });
    expect(page.runs).toHaveLength(5);
    expect(Object.fromEntries(calls)).toEqual({ list: 1, counts: 1 });
    const orders = (await (await dashboardOn(c).app.request("/api/runs?workflow=order&status=cancelled")).json()) as RunsPage;
    expect(orders.counts.cancelled).toBe(CANCELLED);
    const none = (await (await dashboardOn(c).app.request("/api/runs?workflow=restock")).json()) as RunsPage;
    expect(Object.values(none.counts).every((n) => n === 0)).toBe(true);
  });
});

describe("live streams", () => {
  it("share one poll of the store for every stream of the same view", async () => {
    const { client: c, calls } = counting();
    // A poll interval longer than the test: every read counted is a stream's first one.
    const dashboard = dashboardOn(c, { pollIntervalMs: 600_000, streamLimits: { perClient: 40, total: 40 } });
    const streams = await Promise.all(
      Array.from({ length: 20 }, async () => readEvents(await dashboard.app.request(paths.runStream("r40")))),
    );
    for (const s of streams) expect((JSON.parse(await s.next("run")) as RunDetail).id).toBe("r40");
    // Two views of the list (two status tabs): one poll each, and one read of the counts for both.
    const views = ["/api/runs-stream?status=pending", "/api/runs-stream?status=cancelled"];
    const lists = await Promise.all(Array.from({ length: 20 }, async (_, i) => readEvents(await dashboard.app.request(views[i % 2]!))));
    for (const s of lists) expect((JSON.parse(await s.next("runs")) as RunsPage).counts.pending).toBe(RUNS - CANCELLED);
    // A run view reads the run and its history (its timeline) once for all its streams.
    expect(Object.fromEntries(calls)).toEqual({ status: 1, history: 1, list: 2, counts: 1 });
    await Promise.all([...streams, ...lists].map((s) => s.close()));
  });

  it("answers 429 past the streams allowed per client and in all, and admits again once one closes", async () => {
    const dashboard = dashboardOn(client, { streamLimits: { perClient: 2, total: 3 } });
    const first = readEvents(await dashboard.app.request(paths.runStream("r41")));
    const second = readEvents(await dashboard.app.request(paths.runStream("r42")));
    await first.next("run");
    await second.next("run");
    const refused = await dashboard.app.request(paths.runStream("r43"));
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("10");
    expect(((await refused.json()) as ApiError).error).toMatchObject({
      code: "TOO_MANY_STREAMS",
      message: expect.stringMatching(/2 from one address/),
    });
    await first.close();
    await expect.poll(async () => (await dashboard.app.request(paths.runStream("r43"))).status).toBe(200);
    await second.close();
  });
});

describe("the read token", () => {
  const tokens = { readToken: READ_TOKEN, token: ACTION_TOKEN };
  const bearer = (t: string) => ({ headers: { Authorization: `Bearer ${t}` } });

  it("refuses reads and streams without it, and takes either token as a bearer", async () => {
    const { client: c, calls } = counting();
    const dashboard = dashboardOn(c, tokens);
    const reads = ["/api/runs", "/api/runs-stream", paths.run("r1"), paths.runStream("r1")];
    for (const path of [...reads, paths.workers, paths.workersStream, paths.schedules, paths.schedulesStream]) {
      const refused = await dashboard.app.request(path);
      expect(refused.status, path).toBe(401);
      expect(((await refused.json()) as ApiError).error.code).toBe("UNAUTHORIZED");
      expect((await dashboard.app.request(path, bearer("wrong"))).status, path).toBe(401);
    }
    expect(calls.size).toBe(0);
    expect((await dashboard.app.request(paths.run("r1"), bearer(READ_TOKEN))).status).toBe(200);
    expect((await dashboard.app.request(paths.run("r1"), bearer(ACTION_TOKEN))).status).toBe(200);
    const meta = (await (await dashboard.app.request("/api/meta")).json()) as DashboardMeta;
    expect(meta).toMatchObject({ readTokenRequired: true, readAuthorized: false, tokenRequired: true });
  });

  it("opens a session cookie for streams (which cannot send headers), only for a right token", async () => {
    const dashboard = dashboardOn(client, tokens);
    const session = (token: string) =>
      dashboard.app.request(paths.session, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ token }),
      });
    expect((await session("wrong")).status).toBe(401);
    const opened = await session(READ_TOKEN);
    expect(opened.status).toBe(200);
    const setCookie = opened.headers.get("set-cookie") ?? "";
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).not.toContain(READ_TOKEN);
    const cookie = setCookie.split(";")[0]!;
    const stream = await dashboard.app.request(paths.runStream("r1"), { headers: { Cookie: cookie } });
    expect(stream.status).toBe(200);
    await readEvents(stream).close();
    const meta = (await (await dashboard.app.request("/api/meta", { headers: { Cookie: cookie } })).json()) as DashboardMeta;
    expect(meta.readAuthorized).toBe(true);
    expect((await dashboard.app.request("/api/runs", { headers: { Cookie: `${cookie.split("=")[0]}=forged` } })).status).toBe(401);
  });

  it("makes actions need a read credential too when only a read token is set", async () => {
    const dashboard = dashboardOn(client, { readToken: READ_TOKEN });
    const pause = (headers: Record<string, string>) =>
      dashboard.app.request(paths.action("r44", "pause"), {
        method: "POST",
        headers: { "Content-Type": "application/json", ...headers },
        body: "{}",
      });
    expect((await pause({})).status).toBe(401);
    expect((await pause({ Authorization: `Bearer ${READ_TOKEN}` })).status).toBe(200);
    expect((await client.status("r44")).status).toBe("paused");
  });
});

describe("cross-site requests", () => {
  it("cannot make the dashboard read the store, with or without a token set", async () => {
    const { client: c, calls } = counting();
    const dashboard = dashboardOn(c);
    const crossSite = [{ "Sec-Fetch-Site": "cross-site" }, { "Sec-Fetch-Site": "same-site" }, { Origin: "http://evil.example" }];
    for (const headers of crossSite) {
      const reads = ["/api/runs", "/api/runs-stream?status=pending", paths.run("r1"), paths.runStream("r1"), "/api/meta"];
      for (const path of [...reads, paths.workers, paths.workersStream, paths.schedules, paths.schedulesStream]) {
        const refused = await dashboard.app.request(path, { headers });
        expect(refused.status, `${path} ${JSON.stringify(headers)}`).toBe(403);
        expect(((await refused.json()) as ApiError).error.code).toBe("CROSS_SITE");
      }
    }
    expect(calls.size).toBe(0);
    expect((await dashboard.app.request("/api/runs", { headers: { "Sec-Fetch-Site": "same-origin" } })).status).toBe(200);
  });
});

describe("signals", () => {
  const send = (dashboard: Dashboard, name: string) =>
    dashboard.app.request("/api/runs/r40/signal", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ name, payload: { by: "ops" } }),
    });

  it("refuse a misspelled name through the client's check, with or without the workflow's definition loaded", async () => {
    for (const workflows of [[orderWorkflow], []]) {
      const response = await send(dashboardOn(client, { workflows }), "aproved");
      expect(response.status).toBe(400);
      const body = (await response.json()) as ApiError;
      expect(body.error).toMatchObject({ code: "UNEXPECTED_SIGNAL", message: expect.stringContaining('"approved"') as unknown });
    }
    // Nothing was buffered: the run stays as it was.
    expect((await client.status("r40")).status).toBe("pending");
  });
});
