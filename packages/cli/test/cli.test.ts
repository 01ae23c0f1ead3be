/**
 * `parkway` driven as a user drives it: each command a spawned process,
 * against a real Redis and a `parkway worker` process, in a namespace of its
 * own that is deleted afterwards.
 */
import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliSpace, eventually, FIXTURES, stop, type Ran } from "./helpers.js";

const space = cliSpace();
const parkway = space.run;
let worker: ChildProcess;

/** `parkway --json ...args`, its stdout parsed. */
async function json<T = Record<string, unknown>>(...args: string[]): Promise<{ ran: Ran; doc: T }> {
  const ran = await parkway("--json", ...args);
  return { ran, doc: JSON.parse(ran.stdout) as T };
}

async function statusOf(id: string): Promise<string> {
  const { doc } = await json<{ run: { status: string } }>("status", id);
  return doc.run.status;
}

beforeAll(async () => {
  worker = await space.startWorker();
});

afterAll(async () => {
  if (worker) await stop(worker);
  await space.cleanup();
});

describe("parkway against Redis and a worker process", () => {
  it("starts a fork, and status draws the tree with the branch parked on its delay and the other committed", async () => {
    const started = await parkway("start", "fanout", "--input", '{"id":"o-1","amount":42}', "--id", "fan-1", "--workflows", FIXTURES);
    expect(started.code).toBe(0);
    expect(started.stdout).toContain("Started run fan-1");
    await eventually(async () => (await statusOf("fan-1")) === "parked", "fan-1 to park");

    const status = await parkway("status", "fan-1", "--workflows", FIXTURES);
    expect(status.code).toBe(0);
    const lines = status.stdout.split("\n");
    const line = (key: string) => lines.find((l) => l.includes(` ${key} `)) ?? `(no line for ${key})`;
    expect(status.stdout).toMatch(/^Status\s+parked/m);
    expect(line("prepare")).toMatch(
      /^├─ ✓ task prepare\s+committed\s+output \{"id":"o-1","amount":42,"prepared":true\} · 1 attempt · took \d+m?s$/,
    );
    expect(line("merge")).toMatch(/^└─ ○ fork merge\s+not reached\s+joins quick, slow$/);
    expect(line("quick/charge")).toMatch(/^ {3}│ {2}└─ ✓ task quick\/charge\s+committed\s+output \{"charged":42\}/);
    expect(line("slow/cool-off")).toMatch(
      /^ {6}├─ ◷ delay slow\/cool-off\s+parked\s+delay 1h, wakes at \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ \(in 59m \d+s\)$/,
    );
    expect(line("slow/ship")).toMatch(/^ {6}└─ ○ task slow\/ship\s+not reached$/);
  });

  it("without --workflows, status lists the committed steps flat and says why", async () => {
    const status = await parkway("status", "fan-1");
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('Committed steps only: the definition of "fanout" is not loaded');
    expect(status.stdout).toMatch(/✓ quick\/charge\s+committed\s+output \{"charged":42\}/);
    expect(status.stdout).not.toContain("slow/ship");
  });

  it("status --json is one document holding the run and describeRun's tree", async () => {
    const { ran, doc } = await json<{ run: { status: string; waitingFor: { key: string }[] }; tree: { key: string; state: string }[] }>(
      "status",
      "fan-1",
      "--workflows",
      FIXTURES,
    );
    expect(ran.code).toBe(0);
    expect(doc.run.status).toBe("parked");
    expect(doc.run.waitingFor.map((w) => w.key)).toEqual(["slow/cool-off"]);
    expect(doc.tree.map((n) => [n.key, n.state])).toEqual([
      ["prepare", "committed"],
      ["merge", "not-reached"],
    ]);
  });

  it("start with an id that exists returns that run and starts nothing", async () => {
    const { ran, doc } = await json("start", "fanout", "--input", "{}", "--id", "fan-1", "--workflows", FIXTURES);
    expect(ran.code).toBe(0);
    expect(doc).toEqual({ id: "fan-1", workflow: "fanout", created: false, status: "parked" });
  });

  it("a signal wakes a parked run and result prints its output", async () => {
    expect((await parkway("start", "approval", "--input", "null", "--id", "ap-1", "--workflows", FIXTURES)).code).toBe(0);
    await eventually(async () => (await statusOf("ap-1")) === "parked", "ap-1 to park");
    const status = await parkway("status", "ap-1", "--workflows", FIXTURES);
    expect(status.stdout).toMatch(/◷ signal wait-approval\s+parked\s+waits for signal "approved", times out at .* \(in 59m \d+s\)/);

    const signal = await parkway("signal", "ap-1", "approved", "--payload", '{"by":"ana"}');
    expect(signal.code).toBe(0);
    expect(signal.stdout).toContain('Sent signal "approved" to run ap-1.');
    const result = await parkway("result", "ap-1", "--timeout", "20s");
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe('"approved by ana"');
    const { doc } = await json("result", "ap-1");
    expect(doc).toEqual({ id: "ap-1", status: "completed", output: "approved by ana" });
  });

  it("a signal sent again with the same --delivery-id is delivered once", async () => {
    expect((await parkway("start", "notes", "--input", "null", "--id", "notes-1", "--workflows", FIXTURES)).code).toBe(0);
    for (let i = 0; i < 2; i++) {
      expect((await parkway("signal", "notes-1", "note", "--payload", '"one"', "--delivery-id", "d-1")).code).toBe(0);
    }
    const secondParked = async () => {
      const { doc } = await json<{ tree: { key: string; state: string }[] }>("status", "notes-1", "--workflows", FIXTURES);
      return doc.tree.find((n) => n.key === "second")?.state === "parked";
    };
    await eventually(secondParked, "the second signal step to park");
    expect((await parkway("signal", "notes-1", "note", "--payload", '"two"', "--delivery-id", "d-2")).code).toBe(0);
    expect(JSON.parse((await parkway("result", "notes-1", "--timeout", "20s")).stdout)).toBe("two");
  });

  it("result exits 4 for a failed run, naming the step and the error", async () => {
    expect((await parkway("start", "doomed", "--input", "5", "--id", "doomed-1", "--workflows", FIXTURES)).code).toBe(0);
    const result = await parkway("result", "doomed-1", "--timeout", "20s");
    expect(result.code).toBe(4);
    expect(result.stderr).toContain("run doomed-1 failed: NON_RETRYABLE: out of stock (step boom)");
    const { ran, doc } = await json<{ status: string; error: { code: string; step: string } }>("result", "doomed-1");
    expect(ran.code).toBe(4);
    expect(doc).toMatchObject({ status: "failed", error: { code: "NON_RETRYABLE", step: "boom" } });
    const status = await parkway("status", "doomed-1", "--workflows", FIXTURES);
    expect(status.stdout).toMatch(/✗ task boom\s+failed\s+NON_RETRYABLE: out of stock/);
  });

  it("result exits 6 when --timeout passes first, and the run goes on", async () => {
    const result = await parkway("result", "fan-1", "--timeout", "500ms");
    expect(result.code).toBe(6);
    expect(result.stderr).toContain('run "fan-1" did not finish within 500ms (it is parked)');
  });

  it("list shows runs as a table, filters, pages with a cursor, and --json parses", async () => {
    const table = await parkway("list");
    expect(table.code).toBe(0);
    expect(table.stdout.split("\n")[0]).toMatch(/^ID\s+WORKFLOW\s+STATUS\s+CREATED\s+UPDATED\s+FINISHED\s+DUE\s+ERROR$/);
    expect(table.stdout).toMatch(/^fan-1\s+fanout\s+parked\s+\S+ \S+\s+\S+ \S+\s+-\s/m);
    expect(table.stdout).toMatch(/^doomed-1\s+doomed\s+failed\s.*NON_RETRYABLE: out of stock$/m);

    const parked = await json<{ runs: { id: string }[]; cursor: string | null }>("list", "--status", "parked");
    expect(parked.doc.runs.map((r) => r.id)).toEqual(["fan-1"]);
    const byWorkflow = await json<{ runs: { id: string }[] }>("list", "--workflow", "approval");
    expect(byWorkflow.doc.runs.map((r) => r.id)).toEqual(["ap-1"]);

    // Newest first by default; --order oldest walks the other way.
    const ids = async (...args: string[]) => (await json<{ runs: { id: string }[] }>("list", ...args)).doc.runs.map((r) => r.id);
    const first = await json<{ runs: { id: string }[]; cursor: string }>("list", "--limit", "2");
    expect(first.doc.runs.map((r) => r.id)).toEqual(["doomed-1", "notes-1"]);
    const second = await json<{ runs: { id: string }[]; cursor: string | null }>("list", "--limit", "2", "--cursor", first.doc.cursor);
    expect(second.doc.runs.map((r) => r.id)).toEqual(["ap-1", "fan-1"]);
    expect(second.doc.cursor).toBeNull();
    expect((await parkway("list", "--limit", "2")).stdout).toContain(`More runs: parkway list --limit 2 --cursor ${first.doc.cursor}`);
    expect(await ids("--order", "oldest")).toEqual(["fan-1", "ap-1", "notes-1", "doomed-1"]);
    expect(await ids("--prefix", "fan-")).toEqual(["fan-1"]);
    expect(await ids("--prefix", "a", "--order", "oldest", "--status", "completed")).toEqual(["ap-1"]);

    const created = new Map(
      (await json<{ runs: { id: string; createdAt: number }[] }>("list")).doc.runs.map((r) => [r.id, r.createdAt] as const),
    );
    const iso = (ms: number) => new Date(ms).toISOString();
    expect(await ids("--since", iso(created.get("notes-1")!), "--order", "oldest")).toEqual(["notes-1", "doomed-1"]);
    expect(await ids("--until", iso(created.get("notes-1")!))).toEqual(["ap-1", "fan-1"]);
    expect(await ids("--since", "1d")).toHaveLength(4);
    expect(await ids("--until", "1d")).toEqual([]);

    // A finish range lists finished runs only, by when they finished: ap-1, notes-1 and doomed-1 ended in that order.
    expect(await ids("--finished-after", "1d")).toEqual(["doomed-1", "notes-1", "ap-1"]);
    expect(await ids("--finished-after", "1d", "--order", "oldest", "--status", "completed")).toEqual(["ap-1", "notes-1"]);
    expect(await ids("--finished-before", "1d")).toEqual([]);
    expect(await ids("--finished-after", "1d", "--status", "parked")).toEqual([]);
    const finished = (await json<{ runs: { id: string; finishedAt: number | null }[] }>("list", "--order", "oldest")).doc.runs;
    expect(finished.map((r) => [r.id, r.finishedAt === null])).toEqual([
      ["fan-1", true],
      ["ap-1", false],
      ["notes-1", false],
      ["doomed-1", false],
    ]);
    const notesFinished = finished.find((r) => r.id === "notes-1")!.finishedAt!;
    expect(await ids("--finished-after", iso(notesFinished), "--finished-before", iso(notesFinished + 1))).toEqual(["notes-1"]);
    const paged = await parkway("list", "--finished-after", iso(notesFinished), "--limit", "1");
    expect(paged.stdout).toMatch(/^doomed-1\s+doomed\s+failed\s/m);
    expect(paged.stdout).toContain(`More runs: parkway list --finished-after ${iso(notesFinished)} --limit 1 --cursor `);
  });

  it("status lists the signals sent to a run and not taken yet, and the tree counts them at the wait that takes them", async () => {
    expect((await parkway("start", "held", "--input", "null", "--id", "held-1", "--workflows", FIXTURES)).code).toBe(0);
    await eventually(async () => (await statusOf("held-1")) === "parked", "held-1 to park on its delay");
    expect((await parkway("signal", "held-1", "go", "--payload", '{"n":1}')).code).toBe(0);
    expect((await parkway("signal", "held-1", "go", "--payload", '"second"')).code).toBe(0);
    const status = await parkway("status", "held-1", "--workflows", FIXTURES);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('Buffered   2 signals not taken yet: "go" ×2');
    expect(status.stdout).toMatch(/^Signal {5}"go" {2}sent \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ \((now|\d+m?s ago)\) · \d+ B · \{"n":1\}$/m);
    expect(status.stdout).toMatch(/^Signal {5}"go" {2}sent .* · \d+ B · "second"$/m);
    expect(status.stdout).toMatch(/└─ ○ signal wait-go\s+not reached\s+signal "go", no timeout, 2 buffered$/m);
    const { doc } = await json<{ run: { buffered: { total: number; byName: object; signals: { name: string; payload: unknown }[] } } }>(
      "status",
      "held-1",
    );
    expect(doc.run.buffered).toMatchObject({ total: 2, byName: { go: 2 }, signals: [{ payload: { n: 1 } }, { payload: "second" }] });
    expect((await parkway("cancel", "held-1")).code).toBe(0);
  });

  it("signal without --payload exits 2, a misspelled name exits 7, and neither sends anything", async () => {
    expect((await parkway("start", "approval", "--input", "null", "--id", "ap-typo", "--workflows", FIXTURES)).code).toBe(0);
    await eventually(async () => (await statusOf("ap-typo")) === "parked", "ap-typo to park");
    const bare = await parkway("signal", "ap-typo", "approved");
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain("signal needs --payload <json>");
    // Without --workflows: the names recorded when the run started are the check.
    const typo = await json<{ error: { code: string; exitCode: number; message: string } }>(
      "signal",
      "ap-typo",
      "aproved",
      "--payload",
      '{"by":"x"}',
    );
    expect(typo.ran.code).toBe(7);
    expect(typo.doc.error).toMatchObject({ code: "UNEXPECTED_SIGNAL", exitCode: 7 });
    expect(typo.doc.error.message).toContain('workflow "approval" never waits for signal "aproved" (it waits for "approved")');
    // With --workflows: the run's definition and where it stands are the check.
    const typoWithDefinition = await parkway("signal", "ap-typo", "aproved", "--payload", '{"by":"x"}', "--workflows", FIXTURES);
    expect(typoWithDefinition.code).toBe(7);
    expect(typoWithDefinition.stderr).toContain('never waits for signal "aproved"');
    // Had either been buffered, the run would have failed on a null payload or kept waiting: it takes the right one.
    expect((await parkway("signal", "ap-typo", "approved", "--payload", '{"by":"bo"}', "--workflows", FIXTURES)).code).toBe(0);
    expect(JSON.parse((await parkway("result", "ap-typo", "--timeout", "20s")).stdout)).toBe("approved by bo");
    const late = await parkway("signal", "ap-typo", "approved", "--payload", '{"by":"again"}');
    expect(late.code).toBe(5);
  });

  it("signal --no-payload sends no payload, on purpose", async () => {
    expect((await parkway("start", "notes", "--input", "null", "--id", "notes-empty", "--workflows", FIXTURES)).code).toBe(0);
    const sent = await json("signal", "notes-empty", "note", "--no-payload");
    expect(sent.ran.code).toBe(0);
    expect(sent.doc).toEqual({ id: "notes-empty", signal: "note" });
    expect((await parkway("signal", "notes-empty", "note", "--payload", '"last"')).code).toBe(0);
    expect(JSON.parse((await parkway("result", "notes-empty", "--timeout", "20s")).stdout)).toBe("last");
  });

  it("pause and resume a parked run", async () => {
    expect((await parkway("start", "approval", "--input", "null", "--id", "ap-2", "--workflows", FIXTURES)).code).toBe(0);
    await eventually(async () => (await statusOf("ap-2")) === "parked", "ap-2 to park");
    const paused = await parkway("pause", "ap-2");
    expect(paused).toMatchObject({ code: 0, stdout: "Run ap-2 paused.\n" });
    expect(await statusOf("ap-2")).toBe("paused");
    const resumed = await json("resume", "ap-2");
    expect(resumed.ran.code).toBe(0);
    expect(resumed.doc).toMatchObject({ id: "ap-2", status: "parked", immediate: true });
    await eventually(async () => (await statusOf("ap-2")) === "parked", "ap-2 to park again");
  });

  it("cancel ends a parked run at once; result then exits 4 and a second cancel exits 5", async () => {
    const cancelled = await parkway("cancel", "fan-1");
    expect(cancelled).toMatchObject({ code: 0, stdout: "Run fan-1 cancelled.\n" });
    expect(await statusOf("fan-1")).toBe("cancelled");
    const result = await parkway("result", "fan-1");
    expect(result.code).toBe(4);
    expect(result.stderr).toContain("run fan-1 was cancelled");
    const again = await json<{ error: { code: string; exitCode: number } }>("cancel", "fan-1");
    expect(again.ran.code).toBe(5);
    expect(again.doc.error).toMatchObject({ code: "RUN_FINISHED", exitCode: 5 });
    expect((await parkway("signal", "fan-1", "go", "--payload", "null")).code).toBe(5);
  });

  it("retry, rewind, migrate, delete and purge steer runs; a refused repair exits 9 and changes nothing", async () => {
    expect((await parkway("start", "doomed", "--input", "1", "--id", "dm-1", "--workflows", FIXTURES)).code).toBe(0);
    expect((await parkway("result", "dm-1")).code).toBe(4);
    const failedAt = async () => (await json<{ run: { status: string; version: number } }>("status", "dm-1")).doc.run;
    const first = await failedAt();
    expect((await parkway("retry", "dm-1")).code).toBe(0);
    await eventually(async () => {
      const run = await failedAt();
      return run.status === "failed" && run.version > first.version;
    }, "dm-1 to fail again after its retry");

    expect((await parkway("start", "approval", "--input", "null", "--id", "ap-9", "--workflows", FIXTURES)).code).toBe(0);
    await eventually(async () => (await statusOf("ap-9")) === "parked", "ap-9 to park");
    const refused = await json<{ error: { code: string; exitCode: number } }>("retry", "ap-9");
    expect(refused.doc.error).toMatchObject({ code: "RUN_STATE", exitCode: 9 });
    expect((await parkway("delete", "ap-9")).code).toBe(9);
    expect(await statusOf("ap-9")).toBe("parked");
    expect((await parkway("migrate", "ap-9", "--workflows", FIXTURES)).code).toBe(0);

    expect((await parkway("rewind", "dm-1", "--to", "nope", "--workflows", FIXTURES)).code).toBe(3);
    expect((await parkway("rewind", "dm-1", "--to", "ok")).code).toBe(2);
    expect((await parkway("rewind", "dm-1", "--to", "ok", "--workflows", FIXTURES)).code).toBe(0);
    await eventually(async () => (await statusOf("dm-1")) === "failed", "dm-1 to fail again after its rewind");

    expect((await parkway("purge")).code).toBe(2);
    expect((await parkway("purge", "--status", "parked")).code).toBe(2);
    expect((await json("purge", "--workflow", "doomed", "--finished-before", "2000-01-01T00:00:00Z")).doc).toEqual({ deleted: 0 });
    const failedDoomed = (await json<{ runs: unknown[] }>("list", "--workflow", "doomed", "--status", "failed")).doc.runs.length;
    expect(failedDoomed).toBeGreaterThanOrEqual(1);
    expect((await json("purge", "--workflow", "doomed", "--status", "failed")).doc).toEqual({ deleted: failedDoomed });
    expect((await parkway("status", "dm-1")).code).toBe(3);
    expect((await parkway("cancel", "ap-9")).code).toBe(0);
    expect((await parkway("delete", "ap-9")).code).toBe(0);
    expect((await parkway("status", "ap-9")).code).toBe(3);
  });

  it("history lists what happened to a run, oldest first, and status says why a step waits to retry", async () => {
    expect((await parkway("start", "flaky", "--input", "7", "--id", "fl-1", "--workflows", FIXTURES)).code).toBe(0);
    await eventually(async () => (await statusOf("fl-1")) === "parked", "fl-1 to park for its retry");

    const table = await parkway("history", "fl-1");
    expect(table.code).toBe(0);
    const rows = table.stdout.trimEnd().split("\n");
    expect(rows[0]).toMatch(/^TIME\s+EVENT\s+STEP\s+DETAIL$/);
    expect(rows[1]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z\s+started$/);
    expect(rows[2]).toMatch(/\s+retry\.scheduled\s+charge\s+attempt 1 failed: Error: card declined; retries at \d{4}-\d\d-\d\d [\d:.]+Z$/);
    expect(rows[3]).toMatch(/\s+parked\s+charge: retries at .* \(in 59m \d+s\)$/);
    expect(rows).toHaveLength(4);

    const { ran, doc } = await json<{ id: string; events: { at: number; type: string; key?: string; error?: { message: string } }[] }>(
      "history",
      "fl-1",
    );
    expect(ran.code).toBe(0);
    expect(doc.id).toBe("fl-1");
    expect(doc.events.map((e) => e.type)).toEqual(["started", "retry.scheduled", "parked"]);
    expect(doc.events[1]).toMatchObject({ key: "charge", attempt: 1, error: { name: "Error", message: "card declined" } });
    expect(doc.events[2]!.at).toBeGreaterThanOrEqual(doc.events[1]!.at);

    const status = await parkway("status", "fl-1", "--workflows", FIXTURES);
    expect(status.stdout).toMatch(/^Waiting\s+charge: retries at .* after attempt 1 failed: Error: card declined$/m);
    expect(status.stdout).toMatch(/└─ ◷ task charge\s+parked\s+retries at .* · attempt 1 failed: Error: card declined$/m);
    const view = await json<{ run: { timings: Record<string, { lastError: { message: string }; attemptLog: unknown[] }> } }>(
      "status",
      "fl-1",
    );
    expect(view.doc.run.timings.charge).toMatchObject({ lastError: { message: "card declined" }, attemptLog: [{ attempt: 1 }] });
  });

  it("history of an unknown run exits 3, and a missing or malformed id exits 2", async () => {
    const unknown = await json<{ error: { code: string; exitCode: number } }>("history", "no-such-run");
    expect(unknown.ran.code).toBe(3);
    expect(unknown.doc.error).toMatchObject({ code: "UNKNOWN_INSTANCE", exitCode: 3 });
    expect((await parkway("history")).code).toBe(2);
    const tooLong = await parkway("history", "x".repeat(513));
    expect(tooLong.code).toBe(2);
    expect(tooLong.stderr).toContain("at most 512 characters");
  });
});
