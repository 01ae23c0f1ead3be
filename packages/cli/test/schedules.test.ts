/**
 * `parkway schedules ...` as a user drives it: each command a spawned process, against a real
 * Redis and a `parkway worker` process that starts the ticks' runs.
 */
import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliSpace, eventually, FIXTURES, stop } from "./helpers.js";

const space = cliSpace();
const parkway = space.run;
let worker: ChildProcess;

beforeAll(async () => {
  worker = await space.startWorker();
});

afterAll(async () => {
  if (worker) await stop(worker);
  await space.cleanup();
});

describe("parkway schedules", () => {
  it("creates, lists, pauses, triggers, resumes, updates and deletes a schedule; a worker starts its runs", async () => {
    const created = await parkway(
      "schedules",
      "create",
      "nightly",
      "notes",
      "--cron",
      "0 3 * * *",
      "--timezone",
      "Europe/Paris",
      "--input",
      '"hello"',
      "--workflows",
      FIXTURES,
    );
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(
      /^Created schedule nightly: workflow notes, "0 3 \* \* \*" Europe\/Paris, overlap skip, catchup none, next tick \d{4}-/,
    );
    expect(
      (await parkway("schedules", "create", "nightly", "notes", "--cron", "0 3 * * *", "--input", "1", "--workflows", FIXTURES)).code,
    ).toBe(8);

    const listed = await parkway("--json", "schedules", "list");
    expect((JSON.parse(listed.stdout) as { schedules: { id: string }[] }).schedules.map((s) => s.id)).toEqual(["nightly"]);
    expect((await parkway("schedules", "pause", "nightly")).stdout).toContain("Paused schedule nightly");

    const triggered = await parkway("--json", "schedules", "trigger", "nightly");
    const run = (JSON.parse(triggered.stdout) as { run: string }).run;
    expect(run).toMatch(/^nightly@\d{4}-\d\d-\d\dT/);
    // "notes" waits for signals: the run the trigger started is parked on its first.
    await eventually(
      async () => (await parkway("status", run)).stdout.match(/^Status\s+parked/m) ?? undefined,
      "the triggered run to park",
    );

    expect((await parkway("schedules", "resume", "nightly")).stdout).toContain("next tick");
    const updated = await parkway("schedules", "update", "nightly", "--overlap", "allow", "--cron", "0 4 * * *");
    expect(updated.stdout).toContain('"0 4 * * *" Europe/Paris, overlap allow');
    expect((await parkway("schedules", "update", "nightly", "--cron", "not a cron")).code).toBe(2);
    expect((await parkway("schedules", "update", "nightly", "--timezone", "Mars/Olympus")).code).toBe(2);
    expect(
      (await parkway("schedules", "create", "a@b", "notes", "--cron", "* * * * *", "--input", "1", "--workflows", FIXTURES)).code,
    ).toBe(2);

    expect((await parkway("schedules", "delete", "nightly")).code).toBe(0);
    expect((await parkway("schedules", "get", "nightly")).code).toBe(3);
  });
});
