/**
 * `npm run dashboard` as the README runs it, from the repository's root: the embedded demo engine with its
 * seeded runs, and with REDIS_URL a namespace on Redis with `--workflows apps/demo/dist/order.js`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { dropNamespace, ParkwayClient } from "@parkway/bullmq";
import type { DashboardMeta, RunsPage, SchedulesPage, WorkersView } from "@parkway/dashboard";
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { REDIS_URL } from "../../../test/redis-url.js";
import { startDemoEngine } from "../src/embedded.js";
import { orderWorkflow } from "../src/order.js";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));

/** `node apps/demo/dist/dashboard.js args` in the root, as the root's `dashboard` script runs it; resolves with its URL. */
async function startDashboard(args: string[], env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; url: string }> {
  const base = { ...process.env };
  delete base.REDIS_URL;
  const child = spawn(process.execPath, ["apps/demo/dist/dashboard.js", "--port", "0", ...args], {
    cwd: ROOT,
    env: { ...base, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let text = "";
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      const found = /(http:\/\/127\.0\.0\.1:\d+)/.exec(text);
      if (found) resolve(found[1]!);
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("exit", (code) => reject(new Error(`the dashboard exited with ${code} before it listened:\n${text}`)));
  });
  child.stdout.resume();
  child.stderr.resume();
  return { child, url };
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

async function get<T>(url: string): Promise<T> {
  return (await (await fetch(url)).json()) as T;
}

describe("the embedded demo engine", () => {
  it("seeds parked, completed, paused and failed runs", async () => {
    const engine = await startDemoEngine();
    try {
      const { runs } = await engine.list({ order: "oldest" });
      const byStatus = (status: string) => runs.filter((r) => r.status === status).map((r) => r.id);
      expect(byStatus("parked")).toEqual(["order-1001", "order-1002", "order-1003"]);
      expect(byStatus("completed").sort()).toEqual(["order-1004", "restock-oak-shelf"]);
      expect(byStatus("paused")).toEqual(["order-1005"]);
      expect(byStatus("failed")).toEqual(["restock-discontinued-lamp"]);
    } finally {
      await engine.close();
    }
  });
});

describe("npm run dashboard", () => {
  it("serves the embedded demo engine's seeded runs without a Redis URL", async () => {
    let dashboard: Awaited<ReturnType<typeof startDashboard>> | undefined;
    try {
      dashboard = await startDashboard([], {});
      const meta = await get<DashboardMeta>(`${dashboard.url}/api/meta`);
      expect(meta).toMatchObject({ engine: "embedded", namespace: null });
      expect(meta.workflows.map((w) => w.name)).toEqual(["order", "restock"]);
      const page = await get<RunsPage>(`${dashboard.url}/api/runs`);
      expect(page.counts).toMatchObject({ parked: 3, completed: 2, paused: 1, failed: 1 });
      const schedules = await get<SchedulesPage>(`${dashboard.url}/api/schedules`);
      expect(schedules.schedules.map((s) => [s.id, s.workflow, s.nextTicks.length])).toEqual([["nightly-restock", "restock", 3]]);
      const { workers } = await get<WorkersView>(`${dashboard.url}/api/workers`);
      expect(workers.map((w) => w.workflows.map((wf) => wf.name))).toEqual([["order", "restock"]]);
    } finally {
      await stop(dashboard?.child);
    }
  });

  it("with REDIS_URL, serves a namespace and draws the workflows of --workflows apps/demo/dist/order.js", async () => {
    const namespace = `demo-dash-${randomBytes(5).toString("hex")}`;
    const redis = new Redis(REDIS_URL);
    const client = new ParkwayClient({ connection: REDIS_URL, namespace });
    let dashboard: Awaited<ReturnType<typeof startDashboard>> | undefined;
    try {
      await client.start(orderWorkflow, { id: "7", items: ["mug"], amountCents: 990 }, { id: "order-7" });
      dashboard = await startDashboard(["--workflows", "apps/demo/dist/order.js"], { REDIS_URL, PARKWAY_NAMESPACE: namespace });
      const meta = await get<DashboardMeta>(`${dashboard.url}/api/meta`);
      expect(meta).toMatchObject({ engine: "redis", namespace });
      expect(meta.workflows.map((w) => w.name)).toEqual(["order"]);
      const page = await get<RunsPage>(`${dashboard.url}/api/runs`);
      expect(page.runs.map((r) => r.id)).toEqual(["order-7"]);
    } finally {
      await stop(dashboard?.child);
      await client.close();
      await dropNamespace(redis, namespace);
      redis.disconnect();
    }
  });
});
