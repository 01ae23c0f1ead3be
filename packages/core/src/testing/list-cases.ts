/**
 * The behaviour suite's cases for finding runs: `list` newest first by
 * default or oldest first, by id prefix, by creation range and by finish
 * range, a page at a time. Declared by `describeEngineConformance`, so every store runs them.
 */
import { expect, it } from "vitest";
import { flow } from "../builder/flow.js";
import type { ListRunsQuery } from "../engine/client.js";
import { statusWaits, type EngineHarness, type EngineUnderTest } from "./harness.js";

/** Every id `query` lists, following cursors to the last page. */
async function listAll(e: EngineUnderTest, query: ListRunsQuery): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null | undefined;
  for (let pages = 0; pages < 100 && cursor !== null; pages++) {
    const page = await e.list({ ...query, ...(cursor === undefined ? {} : { cursor }) });
    expect(page.runs.length).toBeLessThanOrEqual(query.limit ?? 100);
    ids.push(...page.runs.map((r) => r.id));
    cursor = page.cursor;
  }
  return ids;
}

/** Declares the listing cases; `harness` is read when each test runs. */
export function listCases(harness: () => EngineHarness): void {
  const { parked, finished } = statusWaits(harness);
  const waits = flow<number>("listed").waitForSignal<number>("s", "go").build();
  const other = flow<number>("listed-other").waitForSignal<number>("s", "go").build();

  /** Starts runs `ids` in turn, letting store time pass between them so each has its own creation time. */
  async function startInTurn(e: EngineUnderTest, ids: readonly string[]): Promise<number[]> {
    const created: number[] = [];
    for (const id of ids) {
      await e.start(id.startsWith("other") ? other : waits, 1, { id });
      created.push((await e.status(id)).createdAt);
      await harness().advance(3);
    }
    for (const id of ids) await parked(e, id);
    return created;
  }

  it("list is newest first by default and oldest first on request, a page at a time in either order", async () => {
    const e = await harness().create([waits, other]);
    const ids = ["r-1", "r-2", "r-3", "r-4", "r-5"];
    await startInTurn(e, ids);
    expect(await listAll(e, { limit: 2 })).toEqual([...ids].reverse());
    expect(await listAll(e, { limit: 2, order: "newest" })).toEqual([...ids].reverse());
    expect(await listAll(e, { limit: 2, order: "oldest" })).toEqual(ids);
    expect(await listAll(e, { limit: 3, status: "parked", workflow: "listed", order: "oldest" })).toEqual(ids);
  });

  it("runs of one creation time are ordered by id, forwards or backwards", async () => {
    const e = await harness().create([waits]);
    // Started without time passing between them: on a store with a coarse clock they share createdAt.
    for (const id of ["t-b", "t-a", "t-c"]) await e.start(waits, 1, { id });
    const oldest = await listAll(e, { limit: 1, order: "oldest" });
    const newest = await listAll(e, { limit: 1 });
    expect(newest).toEqual([...oldest].reverse());
    expect([...oldest].sort()).toEqual(["t-a", "t-b", "t-c"]);
  });

  it("idPrefix lists only runs whose id starts with it, in list order, across pages", async () => {
    const e = await harness().create([waits, other]);
    await startInTurn(e, ["order-1", "other-1", "order-2", "ord", "order-3", "xorder-4"]);
    expect(await listAll(e, { idPrefix: "order-", limit: 2 })).toEqual(["order-3", "order-2", "order-1"]);
    expect(await listAll(e, { idPrefix: "ord", order: "oldest" })).toEqual(["order-1", "order-2", "ord", "order-3"]);
    expect(await listAll(e, { idPrefix: "o", workflow: "listed-other" })).toEqual(["other-1"]);
    expect(await listAll(e, { idPrefix: "nothing" })).toEqual([]);
  });

  it("createdAfter and createdBefore select a half-open range of creation times", async () => {
    const e = await harness().create([waits]);
    const ids = ["c-1", "c-2", "c-3", "c-4"];
    const at = await startInTurn(e, ids);
    expect(await listAll(e, { createdAfter: at[1]!, order: "oldest" })).toEqual(["c-2", "c-3", "c-4"]);
    expect(await listAll(e, { createdBefore: at[2]!, order: "oldest" })).toEqual(["c-1", "c-2"]);
    expect(await listAll(e, { createdAfter: at[1]!, createdBefore: at[3]!, limit: 1 })).toEqual(["c-3", "c-2"]);
    expect(await listAll(e, { createdAfter: new Date(at[3]!), createdBefore: new Date(at[3]! + 1), idPrefix: "c-" })).toEqual(["c-4"]);
    expect(await listAll(e, { createdAfter: at[3]!, createdBefore: at[3]! })).toEqual([]);
  });

  /** Ends runs `ids` in turn (a signal completes one, a cancel cancels one), store time passing between them; answers each finish time. */
  async function finishInTurn(e: EngineUnderTest, ids: readonly string[], cancelled: readonly string[] = []): Promise<number[]> {
    const at: number[] = [];
    for (const id of ids) {
      await harness().advance(3);
      if (cancelled.includes(id)) await e.cancel(id);
      else await e.signal(id, "go", 1);
      const view = await finished(e, id);
      expect(view.finishedAt).toBeGreaterThanOrEqual(view.createdAt);
      at.push(view.finishedAt!);
    }
    return at;
  }

  it("finishedAfter and finishedBefore list finished runs by when they finished; a live run never matches", async () => {
    const e = await harness().create([waits, other]);
    await startInTurn(e, ["f-1", "f-2", "f-3", "f-4", "other-1"]);
    // Finished in another order than created; f-2 stays parked.
    const [f3, f1, f4, o1] = await finishInTurn(e, ["f-3", "f-1", "f-4", "other-1"], ["f-4"]);
    expect((await e.status("f-2")).finishedAt).toBeNull();
    const all = { finishedAfter: 0 };
    expect(await listAll(e, all)).toEqual(["other-1", "f-4", "f-1", "f-3"]);
    expect(await listAll(e, { ...all, order: "oldest", limit: 1 })).toEqual(["f-3", "f-1", "f-4", "other-1"]);
    expect(await listAll(e, { finishedAfter: f1!, limit: 2 })).toEqual(["other-1", "f-4", "f-1"]);
    expect(await listAll(e, { finishedBefore: f4!, order: "oldest" })).toEqual(["f-3", "f-1"]);
    expect(await listAll(e, { finishedAfter: new Date(f1!), finishedBefore: new Date(o1!) })).toEqual(["f-4", "f-1"]);
    expect(await listAll(e, { finishedAfter: f3!, finishedBefore: f3! })).toEqual([]);
    // Combined with every other filter.
    expect(await listAll(e, { ...all, status: "completed", limit: 1 })).toEqual(["other-1", "f-1", "f-3"]);
    expect(await listAll(e, { ...all, status: "cancelled" })).toEqual(["f-4"]);
    expect(await listAll(e, { ...all, status: "parked" })).toEqual([]);
    expect(await listAll(e, { ...all, workflow: "listed", status: "completed", order: "oldest" })).toEqual(["f-3", "f-1"]);
    expect(await listAll(e, { ...all, workflow: "listed-other" })).toEqual(["other-1"]);
    expect(await listAll(e, { ...all, idPrefix: "f-", limit: 1 })).toEqual(["f-4", "f-1", "f-3"]);
    const created = (await e.status("f-2")).createdAt;
    expect(await listAll(e, { ...all, createdAfter: created, limit: 1 })).toEqual(["other-1", "f-4", "f-3"]);
    expect(await listAll(e, { ...all, createdBefore: created })).toEqual(["f-1"]);
    // Each run says when it finished; a live one says null.
    const page = await e.list({ limit: 10, order: "oldest" });
    const finishedAt = Object.fromEntries(page.runs.map((r) => [r.id, r.finishedAt]));
    expect(finishedAt).toEqual({ "f-1": f1, "f-2": null, "f-3": f3, "f-4": f4, "other-1": o1 });
  });

  it("a run sent on again leaves the finish range until it finishes again, then is listed by its new finish", async () => {
    const e = await harness().create([waits]);
    await startInTurn(e, ["g-1", "g-2"]);
    const [first] = await finishInTurn(e, ["g-1", "g-2"], ["g-1"]);
    await e.retry("g-1");
    await parked(e, "g-1");
    expect((await e.status("g-1")).finishedAt).toBeNull();
    expect(await listAll(e, { finishedAfter: 0 })).toEqual(["g-2"]);
    expect(await listAll(e, { finishedAfter: 0, status: "cancelled" })).toEqual([]);
    const [again] = await finishInTurn(e, ["g-1"]);
    expect(again).toBeGreaterThan(first!);
    expect(await listAll(e, { finishedAfter: 0 })).toEqual(["g-1", "g-2"]);
    expect(await listAll(e, { finishedAfter: 0, status: "completed", workflow: "listed" })).toEqual(["g-1", "g-2"]);
  });
}
