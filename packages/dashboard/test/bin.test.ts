/** The `parkway-dashboard` executable as published: built, run as a process. */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { ParkwayClient } from "@parkway/bullmq";
import { ValidationError } from "@parkway/core";
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { NEEDS_REDIS, runDashboard, type RunDashboardOptions } from "../src/server/run.js";
import { readSettings } from "../src/server/settings.js";
import type { RunsPage } from "../src/shared/api.js";
import { orderWorkflow } from "./fixtures/order.mjs";
import { DASHBOARD_MAIN, ORDER_MODULE, REDIS_URL, startDashboardProcess, stop, testSpace } from "./helpers.js";

/** Runs the bin to its exit, without any REDIS_URL of this process's environment. */
async function dashboardExit(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env.REDIS_URL;
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [DASHBOARD_MAIN, ...args], { env, timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const { code, stdout, stderr } = error as { code: number; stdout: string; stderr: string };
    return { code, stdout, stderr };
  }
}

describe("parkway-dashboard", () => {
  it("says in one line that it needs a Redis URL when given none, and exits 2", async () => {
    await expect(dashboardExit(["--port", "0"])).resolves.toEqual({ code: 2, stdout: "", stderr: `${NEEDS_REDIS}\n` });
  });

  it("prints its usage on --help and exits 0; an unknown flag exits 2 naming it", async () => {
    const help = await dashboardExit(["--help"]);
    expect(help).toMatchObject({ code: 0, stderr: "" });
    expect(help.stdout).toMatch(/^usage: parkway-dashboard /);
    const bad = await dashboardExit(["--redis-url", "redis://x"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--redis-url");
  });

  it("serves a namespace's runs and the built front end", async () => {
    const space = testSpace();
    const redis = new Redis(REDIS_URL);
    const client = new ParkwayClient({ connection: REDIS_URL, namespace: space.namespace });
    let dashboard: Awaited<ReturnType<typeof startDashboardProcess>> | undefined;
    try {
      await client.start(orderWorkflow, { id: "1", items: ["lamp"], amountCents: 990 }, { id: "order-bin" });
      dashboard = await startDashboardProcess(space.namespace, "a-token");
      const page = (await (await fetch(`${dashboard.url}/api/runs`)).json()) as RunsPage;
      expect(page.runs.map((r) => r.id)).toEqual(["order-bin"]);
      const index = await fetch(dashboard.url);
      expect(index.status).toBe(200);
      expect(await index.text()).toMatch(/<script type="module"[^>]* src="\/assets\/[^"]+\.js"/);
    } finally {
      await stop(dashboard?.child);
      await client.close();
      await space.cleanup(redis);
      redis.disconnect();
    }
  });
});

describe("runDashboard", () => {
  const settings = readSettings(["--port", "0", "--workflows", ORDER_MODULE], {});

  it("refuses to start without a Redis URL or a client", async () => {
    await expect(runDashboard(settings)).rejects.toThrow(new ValidationError(NEEDS_REDIS));
  });

  it("refuses an unknown option, and a client that is not one, by name", async () => {
    const misspelt = { clinet: {} } as unknown as RunDashboardOptions;
    await expect(runDashboard(settings, misspelt)).rejects.toThrow(/runDashboard: unknown option "clinet"/);
    const notAClient = { client: {} } as unknown as RunDashboardOptions;
    await expect(runDashboard(settings, notAClient)).rejects.toThrow(/runDashboard: client must be a DurableClient/);
  });
});
