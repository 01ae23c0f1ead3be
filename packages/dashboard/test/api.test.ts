import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CodecError,
  createMemoryEngine,
  flow,
  StaleVersionError,
  ValidationError,
  type DurableClient,
  type EmbeddedEngine,
  type MemoryStore,
} from "@parkway/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDashboardApp, type Dashboard } from "../src/server/app.js";
import { LOOPBACK_HOSTS } from "../src/server/guard.js";
import {
  decodeRunId,
  encodeRunId,
  paths,
  type ActionResult,
  type ApiError,
  type DashboardMeta,
  type RunDetail,
  type RunsPage,
} from "../src/shared/api.js";
import { orderWorkflow } from "./fixtures/order.mjs";
import { eventually, readEvents } from "./helpers.js";

const TOKEN = "s3cret-token";
const order = (n: number) => ({ id: String(n), items: ["book"], amountCents: 100 });

/** A workflow the dashboard is not given: its runs are listed as flat steps. */
const unlisted = flow<number>("unlisted")
  .then("double", (n) => n * 2)
  .build();
/** Outputs JSON cannot carry: a BigInt and a Map. */
const exotic = flow<number>("exotic")
  .then("wide", (n) => ({ big: BigInt(n) * 10n ** 20n, tags: new Map([["a", 1]]) }))
  .build();

let engine: EmbeddedEngine<MemoryStore>;
let dashboard: Dashboard;

function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return Promise.resolve(
    dashboard.app.request(path, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${TOKEN}`, ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body),
    }),
  );
}

async function json<T>(response: Response | Promise<Response>): Promise<T> {
  return (await (await response).json()) as T;
}

async function parked(id: string): Promise<void> {
  await eventually(async () => (await engine.status(id)).status === "parked", `run ${id} to park`);
}

beforeAll(async () => {
  engine = createMemoryEngine({ workflows: [orderWorkflow, unlisted, exotic] });
  for (let n = 1; n <= 5; n++) await engine.start(orderWorkflow, order(n), { id: `order-${n}` });
  await engine.start(unlisted, 21, { id: "unlisted-1" });
  await engine.start(exotic, 3, { id: "exotic-1" });
  for (let n = 1; n <= 5; n++) await parked(`order-${n}`);
  await engine.result("unlisted-1", { timeout: "5s" });
  await engine.result("exotic-1", { timeout: "5s" });
  dashboard = createDashboardApp({
    client: engine,
    workflows: [orderWorkflow, exotic],
    engine: "embedded",
    token: TOKEN,
    allowedHosts: LOOPBACK_HOSTS,
    pollIntervalMs: 50,
    log: () => {},
  });
});

afterAll(async () => {
  dashboard.close();
  await engine.close();
});

describe("reading runs", () => {
  it("describes the engine, the loaded workflows with their signals, and that actions need a token", async () => {
    const meta = await json<DashboardMeta>(dashboard.app.request("/api/meta"));
    expect(meta).toMatchObject({ engine: "embedded", tokenRequired: true, maxBodyBytes: 65_536 });
    expect(meta.workflows).toEqual([
      { name: "order", signals: ["approved"] },
      { name: "exotic", signals: [] },
    ]);
  });

  it("lists runs with counts per status, filtered by status and workflow", async () => {
    const all = await json<RunsPage>(dashboard.app.request("/api/runs"));
    expect(all.runs).toHaveLength(7);
    expect(all.counts).toMatchObject({ parked: 5, completed: 2, failed: 0 });
    const done = await json<RunsPage>(dashboard.app.request("/api/runs?status=completed"));
    expect(done.runs.map((r) => r.id).sort()).toEqual(["exotic-1", "unlisted-1"]);
    const orders = await json<RunsPage>(dashboard.app.request("/api/runs?workflow=order"));
    expect(orders.runs.every((r) => r.workflow === "order")).toBe(true);
    expect(orders.counts).toMatchObject({ parked: 5, completed: 0 });
  });

  it("pages through runs by cursor, each run once", async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: RunsPage = await json<RunsPage>(dashboard.app.request(`/api/runs?limit=3${cursor ? `&cursor=${cursor}` : ""}`));
      expect(page.runs.length).toBeLessThanOrEqual(3);
      seen.push(...page.runs.map((r) => r.id));
      cursor = page.cursor;
    } while (cursor);
    expect(seen).toHaveLength(7);
    expect(new Set(seen).size).toBe(7);
  });

  it("rejects a bad status or limit with 400 naming the parameter", async () => {
    const bad = await dashboard.app.request("/api/runs?status=sleeping");
    expect(bad.status).toBe(400);
    expect((await json<ApiError>(bad)).error.message).toMatch(/status must be one of/);
    expect((await dashboard.app.request("/api/runs?limit=0")).status).toBe(400);
  });

  it.each([
    ["an unknown parameter", "/api/runs?sort=newest", /unknown query parameter "sort"/],
    ["a parameter given twice", "/api/runs?status=parked&status=failed", /"status" is given more than once/],
    ["an unknown order", "/api/runs?order=sideways", /order must be one of newest, oldest/],
    ["a time that is not one", "/api/runs?createdAfter=yesterday", /createdAfter must be an ISO 8601 time/],
    ["a time without its zone", "/api/runs?createdBefore=2025-03-01T10:00", /createdBefore must be an ISO 8601 time with its zone/],
    ["a range that ends before it starts", "/api/runs?createdAfter=2000&createdBefore=1000", /createdAfter must not be later/],
    ["a finish time that is not one", "/api/runs?finishedAfter=yesterday", /finishedAfter must be an ISO 8601 time/],
    [
      "a finish time without its zone",
      "/api/runs?finishedBefore=2025-03-01T10:00",
      /finishedBefore must be an ISO 8601 time with its zone/,
    ],
    ["a finish range that ends before it starts", "/api/runs?finishedAfter=2000&finishedBefore=1000", /finishedAfter must not be later/],
    ["a finish time given twice", "/api/runs-stream?finishedAfter=1&finishedAfter=2", /"finishedAfter" is given more than once/],
    ["an id prefix over 512 characters", `/api/runs?idPrefix=${"x".repeat(513)}`, /idPrefix must be a non-empty string/],
    ["an unknown parameter of a stream", "/api/runs-stream?page=2", /unknown query parameter "page"/],
    ["a schedules limit out of range", "/api/schedules?limit=201", /limit must be an integer from 1 to 200/],
    ["a schedules cursor that is no schedule id", "/api/schedules-stream?cursor=a%40b", /cursor must not contain "@"/],
  ])("answers a search with %s with 400 naming it, before the store is asked", async (_what, path, message) => {
    const response = await dashboard.app.request(path);
    expect(response.status).toBe(400);
    expect((await json<ApiError>(response)).error).toMatchObject({ code: "VALIDATION", message: expect.stringMatching(message) as string });
  });

  it("draws a run as its continuation tree with each step's state", async () => {
    const run = await json<RunDetail>(dashboard.app.request("/api/runs/order-1"));
    expect(run).toMatchObject({ id: "order-1", workflow: "order", status: "parked", definition: "loaded", signals: ["approved"] });
    expect(run.tree?.map((n) => [n.key, n.kind, n.state])).toEqual([
      ["reserve", "task", "committed"],
      ["merge", "fork", "committed"],
      ["approval", "awaitSignal", "parked"],
      ["cool-off", "delay", "not-reached"],
      ["ship", "task", "not-reached"],
    ]);
    const approval = run.tree?.[2];
    expect(approval?.detail).toEqual({ kind: "awaitSignal", signal: "approved", timeoutMs: 172_800_000, buffered: 0 });
    expect(approval?.wait).toMatchObject({ kind: "signal", signal: "approved" });
    expect(run.tree?.[1]?.branches.map((b) => b.label)).toEqual(["charge", "pack"]);
    // Its history, oldest first, for the timeline; a live run has no finish time and here no signal waiting.
    expect(run.history[0]).toMatchObject({ type: "started" });
    expect(run.history.at(-1)).toMatchObject({ type: "parked", waits: [{ kind: "signal", signal: "approved" }] });
    expect(run.history.filter((e) => e.type === "step.committed").map((e) => ("key" in e ? e.key : ""))).toContain("merge");
    expect(run).toMatchObject({ finishedAt: null, buffered: { signals: [], total: 0, byName: {} } });
  });

  it("lists the committed steps flat when the run's workflow definition is not loaded", async () => {
    const run = await json<RunDetail>(dashboard.app.request("/api/runs/unlisted-1"));
    expect(run).toMatchObject({ definition: "missing", tree: null, output: 42 });
    expect(run.steps).toEqual([{ key: "double", attempts: 1, output: 42 }]);
  });

  it("shows values JSON cannot carry (BigInt, Map) as readable stand-ins", async () => {
    const run = await json<RunDetail>(dashboard.app.request("/api/runs/exotic-1"));
    expect(run.tree?.[0]?.output).toEqual({ big: "300000000000000000000n", tags: { a: 1 } });
  });

  it("answers 404 for an unknown run", async () => {
    const response = await dashboard.app.request("/api/runs/nope");
    expect(response.status).toBe(404);
    expect((await json<ApiError>(response)).error.code).toBe("UNKNOWN_INSTANCE");
  });
});

describe("protection", () => {
  it("requires the bearer token for actions when one is configured, not for reads", async () => {
    const missing = await post("/api/runs/order-2/pause", {}, { Authorization: "" });
    expect(missing.status).toBe(401);
    expect(missing.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect((await post("/api/runs/order-2/pause", {}, { Authorization: "Bearer wrong" })).status).toBe(401);
    expect((await engine.status("order-2")).status).toBe("parked");
    expect((await dashboard.app.request("/api/runs/order-2")).status).toBe(200);
  });

  it("answers 413 for a body over 64 KiB, whether or not it declares its length", async () => {
    const big = JSON.stringify({ name: "approved", payload: "x".repeat(70 * 1024) });
    const declared = await post("/api/runs/order-2/signal", big, { "Content-Length": String(big.length) });
    expect(declared.status).toBe(413);
    expect((await json<ApiError>(declared)).error).toEqual({
      code: "PAYLOAD_TOO_LARGE",
      message: "the request body is larger than 65536 bytes",
    });
    expect((await post("/api/runs/order-2/signal", big)).status).toBe(413);
    expect((await engine.status("order-2")).status).toBe("parked");
  });

  it("refuses actions sent from another site", async () => {
    expect((await post("/api/runs/order-2/cancel", {}, { Origin: "http://evil.example" })).status).toBe(403);
    expect((await post("/api/runs/order-2/cancel", {}, { "Sec-Fetch-Site": "cross-site" })).status).toBe(403);
    expect((await engine.status("order-2")).status).toBe("parked");
  });

  it("refuses host names other than loopback ones (DNS rebinding)", async () => {
    expect((await dashboard.app.request("http://evil.example/api/meta")).status).toBe(403);
    expect((await dashboard.app.request("http://127.0.0.1:4400/api/meta")).status).toBe(200);
  });

  it("sends a content security policy that allows only the dashboard's own scripts", async () => {
    const response = await dashboard.app.request("/api/meta");
    expect(response.headers.get("content-security-policy")).toContain("script-src 'self'");
  });
});

describe("signals", () => {
  const cases: [string, string | object, number, RegExp][] = [
    ["a body that is not JSON", "{name: approved", 400, /not valid JSON/],
    ["a body that is not an object", "[1]", 400, /must be a JSON object/],
    ["a missing name", { payload: {} }, 400, /signal name must be a non-empty string/],
    ["an empty name", { name: "" }, 400, /signal name must be a non-empty string/],
    ["an unknown field", { name: "approved", extra: 1 }, 400, /unknown field "extra"/],
    [
      "a name the workflow never waits for",
      { name: "approve" },
      400,
      /never waits for signal "approve" \(it can still wait for "approved"\)/,
    ],
    [
      "a payload nested 20,000 deep",
      `{"name":"approved","payload":${"[".repeat(20_000)}${"]".repeat(20_000)}}`,
      400,
      /nested deeper than 100/,
    ],
  ];
  it.each(cases)("rejects %s with a message naming it", async (_what, body, status, message) => {
    const response = await post("/api/runs/order-3/signal", body);
    expect(response.status).toBe(status);
    expect((await json<ApiError>(response)).error.message).toMatch(message);
    expect((await engine.status("order-3")).status).toBe("parked");
  });

  it("rejects a body that is not sent as JSON with 415", async () => {
    const response = await post("/api/runs/order-3/signal", JSON.stringify({ name: "approved" }), { "Content-Type": "text/plain" });
    expect(response.status).toBe(415);
  });

  it("delivers a valid signal, and the run goes on to complete", async () => {
    const result = await json<ActionResult>(post("/api/runs/order-3/signal", { name: "approved", payload: { by: "api" } }));
    expect(result).toMatchObject({ ok: true, immediate: true, message: 'signal "approved" delivered: the run goes on' });
    await expect(engine.result("order-3", { timeout: "5s" })).resolves.toMatchObject({ shipped: true, approvedBy: "api" });
  });

  it("answers 409 for a signal to a finished run", async () => {
    const response = await post("/api/runs/unlisted-1/signal", { name: "anything" });
    expect(response.status).toBe(409);
    expect((await json<ApiError>(response)).error.code).toBe("RUN_FINISHED");
  });
});

describe("control and live updates", () => {
  it("pauses, resumes and cancels a parked run at once", async () => {
    expect(await json<ActionResult>(post("/api/runs/order-4/pause", {}))).toMatchObject({ status: "paused", immediate: true });
    expect(await json<ActionResult>(post("/api/runs/order-4/resume", {}))).toMatchObject({ status: "parked", immediate: true });
    expect(await json<ActionResult>(post("/api/runs/order-4/cancel", {}))).toMatchObject({ status: "cancelled", message: "run cancelled" });
    expect((await post("/api/runs/order-4/cancel", {})).status).toBe(409);
  });

  it("streams a run's tree as server-sent events, pushing each change", async () => {
    const response = await dashboard.app.request("/api/runs/order-5/stream");
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const events = readEvents(response);
    const first = await events.next("run");
    expect((JSON.parse(first) as RunDetail).status).toBe("parked");
    await engine.signal("order-5", "approved", { by: "stream" });
    let last: RunDetail;
    do last = JSON.parse(await events.next("run")) as RunDetail;
    while (last.status !== "completed");
    expect(last.tree?.every((n) => n.state === "committed")).toBe(true);
    await events.close();
  });

  it("streams the runs list, and a problem event for an unknown run", async () => {
    const list = readEvents(await dashboard.app.request("/api/runs-stream?status=cancelled"));
    expect((JSON.parse(await list.next("runs")) as RunsPage).runs.map((r) => r.id)).toEqual(["order-4"]);
    await list.close();
    const unknown = readEvents(await dashboard.app.request("/api/runs/nope/stream"));
    expect((JSON.parse(await unknown.next("problem")) as ApiError).error.code).toBe("UNKNOWN_INSTANCE");
    await unknown.close();
  });
});

describe("ids that URLs treat specially", () => {
  const awkward = [".", "..", "~.", "~~..", "...", "a/b", "../etc", "100%", "what?", "#1", "%2E%2E", "x y"];

  it("spells every id as one path segment that URL parsers leave alone, and reads it back", () => {
    for (const id of awkward) {
      const url = new URL(paths.run(id), "http://127.0.0.1:4400");
      const segment = url.pathname.slice("/api/runs/".length);
      expect(segment).not.toContain("/");
      expect(decodeRunId(decodeURIComponent(segment))).toBe(id);
      expect(url.search + url.hash).toBe("");
    }
    expect(encodeRunId("..")).toBe("~..");
    expect(encodeRunId("~..")).toBe("~~..");
  });

  it("reads, streams and acts on runs with those ids", async () => {
    for (const id of awkward) await engine.start(orderWorkflow, order(1), { id });
    for (const id of awkward) await parked(id);
    for (const id of awkward) {
      const response = await dashboard.app.request(paths.run(id));
      expect(response.status, id).toBe(200);
      expect((await json<RunDetail>(response)).id).toBe(id);
    }
    const stream = readEvents(await dashboard.app.request(paths.runStream("..")));
    expect((JSON.parse(await stream.next("run")) as RunDetail).id).toBe("..");
    await stream.close();
    expect(await json<ActionResult>(post(paths.action("..", "cancel"), {}))).toMatchObject({ status: "cancelled" });
    expect(await json<ActionResult>(post(paths.action(".", "pause"), {}))).toMatchObject({ status: "paused" });
    expect((await engine.status("..")).status).toBe("cancelled");
    expect((await engine.status(".")).status).toBe("paused");
    expect((await engine.status("~.")).status).toBe("parked");
  });
});

describe("errors", () => {
  /** The test engine, with `list` replaced by one that throws `error`. */
  function failingList(error: Error): Dashboard {
    const client = new Proxy(engine, {
      get: (target, prop) => (prop === "list" ? () => Promise.reject(error) : (Reflect.get(target, prop, target) as unknown)),
    }) as unknown as DurableClient;
    return createDashboardApp({ client, engine: "embedded", log: () => {} });
  }

  it("answers a cursor that is not one with 400, before the store is asked", async () => {
    const response = await dashboard.app.request(`/api/runs?cursor=${encodeURIComponent("not a cursor!")}`);
    expect(response.status).toBe(400);
    expect((await json<ApiError>(response)).error).toMatchObject({ code: "VALIDATION", message: expect.stringMatching(/cursor/) });
  });

  it.each([
    [new ValidationError("cursor is not a cursor"), 400, "VALIDATION"],
    [new CodecError("the stored header is corrupted"), 400, "CODEC"],
    [new StaleVersionError("stale"), 409, "STALE_VERSION"],
  ])("answers the store's %s with its code, never a 500", async (error, status, code) => {
    const failing = failingList(error);
    const response = await failing.app.request("/api/runs?cursor=abc");
    expect(response.status).toBe(status);
    expect((await json<ApiError>(response)).error).toEqual({ code, message: (error as Error).message });
    failing.close();
  });

  it("answers an error Parkway did not type with a 500 that shows no details", async () => {
    const failing = failingList(new TypeError("Cannot read properties of undefined (reading 'id')"));
    const response = await failing.app.request("/api/runs");
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({ error: { code: "INTERNAL", message: "the dashboard failed to answer; see its log" } });
    expect(text).not.toMatch(/TypeError|at /);
    failing.close();
  });
});

describe("the front end's files", () => {
  it("serves the built files, and never a source map", async () => {
    const root = mkdtempSync(join(tmpdir(), "dashboard-web-"));
    try {
      mkdirSync(join(root, "assets"));
      writeFileSync(join(root, "index.html"), "<!doctype html><title>Parkway</title>");
      writeFileSync(join(root, "assets", "index-abc.js"), "console.log(1);\n//# sourceMappingURL=index-abc.js.map");
      writeFileSync(join(root, "assets", "index-abc.js.map"), '{"version":3,"sources":["app.tsx"]}');
      const web = createDashboardApp({ client: engine, engine: "embedded", webRoot: root, log: () => {} });
      expect((await web.app.request("/assets/index-abc.js")).status).toBe(200);
      expect((await web.app.request("/assets/index-abc.js.map")).status).toBe(404);
      expect(await (await web.app.request("/runs/~..")).text()).toContain("<title>Parkway</title>");
      web.close();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
