/**
 * The dashboard end to end: a real Redis, a real worker process running an
 * order workflow, the real dashboard process, and headless Chromium
 * (Debian's package, or the one an npm package ships: see chromium.ts; driven by playwright-core; no browser download).
 */
import type { ChildProcess } from "node:child_process";
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ParkwayClient } from "@parkway/bullmq";
import { flow, UnknownInstanceError } from "@parkway/core";
import { Redis } from "ioredis";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiError } from "../src/shared/api.js";
import { chromiumForTests } from "./chromium.js";
import { orderWorkflow, payoutWorkflow } from "./fixtures/order.mjs";
import { eventually, REDIS_URL, startDashboardProcess, startWorker, stop, testSpace } from "./helpers.js";

const ARTIFACTS = fileURLToPath(new URL("../test-artifacts/", import.meta.url));
const TOKEN = "e2e-token";
// What a run's input could carry if someone tried to script the dashboard through it.
const HOSTILE = `<img src=x onerror="window.__injected = true">`;
/** A value wider than any card: one word of 3,000 characters. */
const LONG = "x".repeat(3_000);
/** A workflow the worker does not run: its run's page warns that no live worker registers it. */
const audit = flow<number>("audit")
  .then("count", (n) => n)
  .build();
/** Another the worker does not run, waiting for a signal of a hostile name: what is sent to its runs stays buffered. */
const held = flow<number>("held").waitForSignal<unknown>("wait", HOSTILE).build();

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
  await client.start(orderWorkflow, input("long", [LONG]), { id: "order-long" });
  // The worker declines the first transfer of each payout: this run fails, and a retry completes it.
  await client.start(payoutWorkflow, input("declined", []), { id: "payout-declined" });
  await client.start(audit, 1, { id: "audit-unserved" });
  await client.schedules.create("nightly", orderWorkflow, { cron: "0 3 * * *", input: input("nightly", ["tea"]) });
  for (const id of ["order-to-approve", "order-to-cancel", "order-hostile", "order-long"]) {
    await eventually(async () => (await client.status(id)).status === "parked", `${id} to park`);
  }
  await eventually(async () => (await client.status("payout-declined")).status === "failed", "payout-declined to fail");
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

/** The `aria-label`s of the cards whose content is wider than they are. */
async function overflowingPanels(): Promise<string[]> {
  return page.evaluate<string[]>(
    `[...document.querySelectorAll(".panel")].filter((p) => p.scrollWidth > p.clientWidth).map((p) => p.getAttribute("aria-label"))`,
  );
}

/** `ms` as a `datetime-local` input's value, in this process's time zone (the browser's). */
function localInput(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}T${two(d.getHours())}:${two(d.getMinutes())}`;
}

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
    // The audit run is parked too: the worker that woke it has no definition of its workflow.
    await expect(page.getByTestId("count-parked").textContent()).resolves.toMatch(/parked\s*5/);
    await expect(page.getByTestId("count-failed").textContent()).resolves.toMatch(/failed\s*1/);
    await expect(page.locator("table.runs tbody tr").count()).resolves.toBe(6);
    await page.screenshot({ path: `${ARTIFACTS}runs-list.png`, fullPage: true });
  });

  it("searches runs by id prefix, oldest first, keeping the search in the URL and across status tabs", async () => {
    await markPage();
    await page.getByLabel("Run id starts with").fill("order-to");
    await page.getByLabel("Order").selectOption("oldest");
    await page.getByRole("button", { name: "Search" }).click();
    await page.waitForURL(/\?idPrefix=order-to&order=oldest$/);
    const rows = page.locator("table.runs tbody tr");
    await expect.poll(() => rows.count()).toBe(2);
    await expect(rows.first().getAttribute("data-testid")).resolves.toBe("run-row-order-to-approve");
    // The counts stay those of every run: the status indexes they come from know no ids.
    await page.getByText("Counts are of every run, not only of those the search finds.").waitFor();
    await page.getByTestId("count-parked").click();
    await page.waitForURL(/status=parked/);
    await expect(page.getByLabel("Run id starts with").inputValue()).resolves.toBe("order-to");
    await expect.poll(() => rows.count()).toBe(2);
    await page.screenshot({ path: `${ARTIFACTS}runs-search.png`, fullPage: true });
    expect(await isSamePage()).toBe(true);
    await page.getByRole("button", { name: "Clear" }).click();
    await expect.poll(() => rows.count()).toBe(5);
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

  it("retries a failed run, rewinds a completed one and deletes a cancelled one, each confirmed", async () => {
    await page.goto(`${dashboard!.url}/runs/payout-declined`);
    await page.getByTestId("run-status").filter({ hasText: "failed" }).waitFor();
    await expect(page.getByTestId("step-transfer").getAttribute("data-state")).resolves.toBe("failed");
    await expect(page.getByTestId("step-count").getByTestId("progress").textContent()).resolves.toContain('"of":4990');
    await page.getByRole("button", { name: "Retry" }).click();
    const dialog = page.getByRole("dialog", { name: "Confirm action" });
    await expect(dialog.textContent()).resolves.toContain("Retry run payout-declined?");
    await dialog.getByRole("button", { name: "Confirm" }).click();
    await page.getByTestId("run-status").filter({ hasText: "completed" }).waitFor({ timeout: 20_000 });

    await page.goto(`${dashboard!.url}/runs/order-to-approve`);
    await page.getByTestId("run-status").filter({ hasText: "completed" }).waitFor();
    await page.getByLabel("Rewind to step").selectOption("approval");
    await page.getByRole("button", { name: "Rewind", exact: true }).click();
    await expect(dialog.textContent()).resolves.toContain('Rewind run order-to-approve to step "approval"?');
    await dialog.getByRole("button", { name: "Confirm" }).click();
    await page.getByTestId("run-status").filter({ hasText: "parked" }).waitFor();
    await page.getByTestId("step-approval").and(page.locator('[data-state="parked"]')).waitFor();
    await expect(page.getByTestId("step-ship").getAttribute("data-state")).resolves.toBe("not-reached");
    await page.screenshot({ path: `${ARTIFACTS}run-rewound.png`, fullPage: true });

    await page.goto(`${dashboard!.url}/runs/order-to-cancel`);
    await page.getByTestId("run-status").filter({ hasText: "cancelled" }).waitFor();
    await page.getByRole("button", { name: "Delete run" }).click();
    await expect(dialog.textContent()).resolves.toContain("Delete run order-to-cancel now?");
    await dialog.getByRole("button", { name: "Confirm" }).click();
    await page.waitForURL(`${dashboard!.url}/`);
    await page.getByRole("link", { name: "order-hostile" }).waitFor();
    await expect(page.getByTestId("run-row-order-to-cancel").count()).resolves.toBe(0);
    await expect(client.status("order-to-cancel")).rejects.toThrow(UnknownInstanceError);
  });

  it("searches finished runs by when they finished, from the search form", async () => {
    await page.goto(dashboard!.url);
    await page.getByRole("link", { name: "payout-declined" }).waitFor();
    await page.getByLabel("Finished after").fill(localInput(Date.now() - 3_600_000));
    await page.getByRole("button", { name: "Search" }).click();
    await page.waitForURL(/\?finishedAfter=\d{4}-/);
    const rows = page.locator("table.runs tbody tr");
    // Only payout-declined has finished (order-to-approve was rewound, order-to-cancel deleted): the parked runs never match.
    await expect.poll(() => rows.count()).toBe(1);
    await expect(rows.first().getAttribute("data-testid")).resolves.toBe("run-row-payout-declined");
    await page.getByText("Only finished runs, by when they finished.").waitFor();
    await page.screenshot({ path: `${ARTIFACTS}runs-finished.png`, fullPage: true });
    await page.getByTestId("count-parked").click();
    await page.waitForURL(/status=parked/);
    await page.getByText("No runs match.").waitFor();
  });

  it("shows a run's history as a timeline, oldest first and newest last, inside its card", async () => {
    await page.goto(`${dashboard!.url}/runs/order-to-approve`);
    const timeline = page.getByTestId("section-timeline");
    await timeline.locator('[data-type="rewound"]').waitFor();
    const events = await page.evaluate<{ type: string; at: string; text: string }[]>(
      `[...document.querySelectorAll('[data-testid="timeline-event"]')].map((e) => ({ type: e.dataset.type, at: e.querySelector("time").dateTime, text: e.textContent }))`,
    );
    const types = events.map((e) => e.type);
    expect(types[0]).toBe("started");
    // Approved, completed, rewound to the approval: it waits for the signal again.
    expect(types.at(-1)).toBe("parked");
    expect(types.indexOf("signal.received")).toBeLessThan(types.indexOf("completed"));
    expect(types.indexOf("completed")).toBeLessThan(types.indexOf("rewound"));
    const times = events.map((e) => Date.parse(e.at));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(events.find((e) => e.type === "signal.received")?.text).toContain('signal "approved"');
    expect(events.find((e) => e.type === "rewound")?.text).toContain("to step approval");
    expect(events.find((e) => e.type === "step.committed" && e.text.includes("approval"))?.text).toContain("attempt 1");
    expect(events.at(-1)?.text).toContain('approval: parked until signal "approved" arrives');
    expect(await overflowingPanels()).toEqual([]);
    await timeline.screenshot({ path: `${ARTIFACTS}run-timeline.png` });
    await page.screenshot({ path: `${ARTIFACTS}run-with-timeline.png`, fullPage: true });
  });

  it("lists the signals sent to a run and not taken yet, and its timeline, as text and inside their cards", async () => {
    await client.start(held, 1, { id: "held-signals" });
    await client.signal("held-signals", HOSTILE, { note: HOSTILE });
    await client.signal("held-signals", HOSTILE, LONG);
    await client.signal("held-signals", HOSTILE, "y".repeat(5_000));
    await page.goto(`${dashboard!.url}/runs/held-signals`);
    const buffered = page.getByTestId("section-buffered");
    const signals = buffered.getByTestId("buffered-signal");
    await expect.poll(() => signals.count()).toBe(3);
    await expect(buffered.textContent()).resolves.toContain(`3 signals sent and not taken by a step yet: "${HOSTILE}" ×3.`);
    await expect(signals.nth(0).textContent()).resolves.toContain(HOSTILE.replaceAll('"', '\\"'));
    await expect(signals.nth(2).textContent()).resolves.toContain("The payload is too large to show here.");
    const received = page.getByTestId("section-timeline").locator('[data-type="signal.received"]');
    await expect.poll(() => received.count()).toBe(3);
    await expect(received.first().textContent()).resolves.toContain(`signal "${HOSTILE}"`);
    await expect(page.locator("main img").count()).resolves.toBe(0);
    expect(await page.evaluate(() => (globalThis as unknown as { __injected?: boolean }).__injected)).toBeUndefined();
    await signals.nth(1).getByRole("button", { name: "show all 3000 characters" }).click();
    expect(await overflowingPanels()).toEqual([]);
    await page.screenshot({ path: `${ARTIFACTS}run-buffered-signals.png`, fullPage: true });
  });

  it("warns on a run's page when no live worker registers its workflow", async () => {
    await page.goto(`${dashboard!.url}/runs/audit-unserved`);
    await expect(page.getByTestId("run-warning").textContent()).resolves.toContain('no live worker registers workflow "audit"');
  });

  it("lists the live workers with the workflows and definitions each runs", async () => {
    await page.getByRole("navigation", { name: "Pages" }).getByRole("link", { name: "Workers" }).click();
    const row = page.locator('tr[data-testid^="worker-row-"]');
    await row.getByTestId("worker-workflow-order").waitFor();
    await expect(row.count()).resolves.toBe(1);
    await expect(row.getByTestId("worker-workflow-order").textContent()).resolves.toContain(orderWorkflow.hash.slice(0, 12));
    await page.screenshot({ path: `${ARTIFACTS}workers.png`, fullPage: true });
  });

  it("lists schedules with their next ticks, and pauses, resumes and triggers one, each confirmed", async () => {
    await page.getByRole("navigation", { name: "Pages" }).getByRole("link", { name: "Schedules" }).click();
    const card = page.getByTestId("schedule-nightly");
    await expect.poll(() => card.getByTestId("next-ticks").locator("li").count()).toBe(3);
    const confirm = () => card.getByRole("dialog", { name: "Confirm action" }).getByRole("button", { name: "Confirm" }).click();
    await card.getByRole("button", { name: "Pause" }).click();
    await confirm();
    await card.getByTestId("next-ticks").filter({ hasText: "none while paused" }).waitFor();
    await card.getByRole("button", { name: "Resume" }).click();
    await confirm();
    await expect.poll(() => card.getByTestId("next-ticks").locator("li").count()).toBe(3);
    await card.getByRole("button", { name: "Trigger now" }).click();
    await confirm();
    await card.getByRole("status").filter({ hasText: "started run nightly@" }).waitFor();
    const lastRun = card.getByTestId("last-run").getByRole("link");
    await lastRun.waitFor();
    await page.screenshot({ path: `${ARTIFACTS}schedules.png`, fullPage: true });
    const runId = (await lastRun.textContent())!;
    expect(runId).toMatch(/^nightly@/);
    await expect(client.schedules.get("nightly")).resolves.toMatchObject({ paused: false, lastRun: runId });
    await lastRun.click();
    await expect(page.getByTestId("run-id").textContent()).resolves.toBe(runId);
  });

  it("follows the system's dark theme, and keeps a long value inside its card", async () => {
    await page.emulateMedia({ colorScheme: "dark" });
    try {
      await page.goto(`${dashboard!.url}/runs/order-long`);
      await page.getByTestId("step-approval").waitFor();
      // Evaluated in the page (the tests compile without the DOM's types).
      const background = await page.evaluate<string>("getComputedStyle(document.documentElement).backgroundColor");
      expect(background).toBe("rgb(15, 20, 28)");
      // The input holds it, and so does each step's output that passes it on: it is cut in each until asked for.
      await expect(page.locator("main").textContent()).resolves.not.toContain(LONG);
      await page.getByRole("button", { name: "show all 3000 characters" }).first().click();
      await expect(page.locator("main").textContent()).resolves.toContain(LONG);
      expect(await overflowingPanels()).toEqual([]);
      await page.screenshot({ path: `${ARTIFACTS}run-dark.png`, fullPage: true });
    } finally {
      await page.emulateMedia({ colorScheme: "light" });
    }
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
