/**
 * The behaviour suite's cases for finding runs: `list` newest first by
 * default or oldest first, by id prefix and by creation range, a page at a
 * time. Declared by `describeEngineConformance`, so every store runs them.
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
  const { parked } = statusWaits(harness);
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
}
