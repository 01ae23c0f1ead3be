/**
 * The dashboard end to end: a real Redis, a real worker process running the
 * demo's order workflow, the real dashboard process, and headless Chromium
 * (Debian's package, or the one an npm package ships: see chromium.ts; driven by playwright-core; no browser download).
 */
import type { ChildProcess } from "node:child_process";
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ParkwayClient } from "@parkway/bullmq";
import { orderWorkflow } from "@parkway/demo/order";
import { Redis } from "ioredis";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiError } from "../src/shared/api.js";
import { chromiumForTests } from "./chromium.js";
import { eventually, REDIS_URL, startDashboardProcess, startWorker, stop, testSpace } from "./helpers.js";

const ARTIFACTS = fileURLToPath(new URL("../test-artifacts/", import.meta.url));
const TOKEN = "e2e-token";
// What a run's input could carry if someone tried to script the dashboard through it.
const HOSTILE = `<img src=x onerror="window.__injected = true">`;

const space = testSpace();
const redis = new Redis(REDIS_URL);
let client: ParkwayClient;
let worker: ChildProcess | undefined;
let dashboard: { child: ChildProcess; url: string } | undefined;
let browser: Browser | undefined;
let page: Page;

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  client = new ParkwayClient({ connection: REDIS_URL, namespace: space.namespace });
  worker = await startWorker(space.namespace);
  const input = (id: string, items: string[]) => ({ id, items, amountCents: 4_990 });
  await client.start(orderWorkflow, input("to-approve", ["book", "lamp"]), { id: "order-to-approve" });
  await client.start(orderWorkflow, input("to-cancel", ["kettle"]), { id: "order-to-cancel" });
  await client.start(orderWorkflow, input("hostile", [HOSTILE]), { id: "order-hostile" });
  for (const id of ["order-to-approve", "order-to-cancel", "order-hostile"]) {
    await eventually(async () => (await client.status(id)).status === "parked", `${id} to park`);
  }
  dashboard = await startDashboardProcess(space.namespace, TOKEN);
  const { executablePath, env } = await chromiumForTests();
  browser = await chromium.launch({
    executablePath,
    env: { ...process.env, ...env },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
});

afterAll(async () => {
  await browser?.close();
  await stop(dashboard?.child);
  await stop(worker);
  await client?.close();
  await space.cleanup(redis);
  redis.disconnect();
});

/** Marks the page, so a later check can prove it was never reloaded. */
async function markPage(): Promise<void> {
  await page.evaluate(() => ((globalThis as unknown as { __sameDocument: boolean }).__sameDocument = true));
}
async function isSamePage(): Promise<boolean> {
  return page.evaluate(() => (globalThis as unknown as { __sameDocument?: boolean }).__sameDocument === true);
}

describe("the dashboard in a browser, on Redis with a worker process", () => {
  it("lists the runs with counts per status", async () => {
    await page.goto(dashboard!.url);
    await page.getByRole("link", { name: "order-to-approve" }).waitFor();
    await expect(page.getByTestId("count-parked").textContent()).resolves.toMatch(/parked\s*3/);
    await expect(page.locator("table.runs tbody tr").count()).resolves.toBe(3);
    await page.screenshot({ path: `${ARTIFACTS}runs-list.png`, fullPage: true });
  });

  it("sends a parked run its signal from the page, asking for the token, and the tree advances to completed without a reload", async () => {
    await page.getByRole("link", { name: "order-to-approve" }).click();
    await page.getByTestId("step-approval").and(page.locator('[data-state="parked"]')).waitFor();
    await markPage();
    await expect(page.getByTestId("step-merge").getAttribute("data-state")).resolves.toBe("committed");
    await expect(page.getByTestId("step-ship").getAttribute("data-state")).resolves.toBe("not-reached");
    await page.screenshot({ path: `${ARTIFACTS}run-parked.png`, fullPage: true });

    await expect(page.getByLabel("Signal name").inputValue()).resolves.toBe("approved");
    await page.getByLabel("Payload (JSON)").fill('{ "by": "e2e" }');
    await page.getByRole("button", { name: "Send signal" }).click();
    await page.getByRole("dialog", { name: "Confirm action" }).getByRole("button", { name: "Confirm" }).click();
    // Actions need the token: the page asks for it, keeps it for the tab and retries.
    await page.getByLabel("Dashboard token").fill(TOKEN);
    await page.getByRole("button", { name: "Save token and confirm" }).click();
    await page.getByRole("status").filter({ hasText: 'signal "approved" delivered' }).waitFor();

    await page.getByTestId("run-status").filter({ hasText: "completed" }).waitFor({ timeout: 20_000 });
    for (const key of ["approval", "cool-off", "ship"]) {
      await expect(page.getByTestId(`step-${key}`).getAttribute("data-state")).resolves.toBe("committed");
    }
    await expect(page.getByTestId("step-approval").textContent()).resolves.toContain('"e2e"');
    expect(await isSamePage()).toBe(true);
    await page.screenshot({ path: `${ARTIFACTS}run-completed.png`, fullPage: true });
    await expect(client.result("order-to-approve", { timeout: "5s" })).resolves.toMatchObject({ approvedBy: "e2e" });
  });

  it("cancels a run from the page, confirmed, and shows it cancelled without a reload", async () => {
    await page.getByRole("link", { name: "← All runs" }).click();
    await page.getByRole("link", { name: "order-to-cancel" }).click();
    await page.getByTestId("run-status").filter({ hasText: "parked" }).waitFor();
    await markPage();
    await page.getByRole("button", { name: "Cancel run" }).click();
    const dialog = page.getByRole("dialog", { name: "Confirm action" });
    await expect(dialog.textContent()).resolves.toContain("Cancel run order-to-cancel?");
    await dialog.getByRole("button", { name: "Confirm" }).click();
    await page.getByTestId("run-status").filter({ hasText: "cancelled" }).waitFor();
    await page.getByText("This run has finished").waitFor();
    expect(await isSamePage()).toBe(true);
    await expect(client.status("order-to-cancel")).resolves.toMatchObject({ status: "cancelled" });
  });

  it("shows user-provided text as text, never as markup", async () => {
    await page.goto(`${dashboard!.url}/runs/order-hostile`);
    await page.getByTestId("step-approval").waitFor();
    await expect(page.locator("main").textContent()).resolves.toContain(HOSTILE.replaceAll('"', '\\"'));
    await expect(page.locator("main img").count()).resolves.toBe(0);
    expect(await page.evaluate(() => (globalThis as unknown as { __injected?: boolean }).__injected)).toBeUndefined();
  });
});

describe("the dashboard's HTTP API, on the real server", () => {
  it("refuses actions without the token and bodies over 64 KiB", async () => {
    const url = `${dashboard!.url}/api/runs/order-hostile`;
    const unauthorized = await fetch(`${url}/cancel`, { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
    expect(unauthorized.status).toBe(401);
    const oversize = await fetch(`${url}/signal`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ name: "approved", payload: "x".repeat(100 * 1024) }),
    });
    expect(oversize.status).toBe(413);
    expect(((await oversize.json()) as ApiError).error.code).toBe("PAYLOAD_TOO_LARGE");
    await expect(client.status("order-hostile")).resolves.toMatchObject({ status: "parked" });
  });
});
