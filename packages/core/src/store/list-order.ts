/**
 * The order of `list`, and which runs a query selects, defined once: the
 * memory store sorts and filters with these, the Redis store's `listRuns`
 * script walks its sorted sets the same way (members of one score sort by their
 * bytes), and anything that merges pages from several stores or partitions
 * merges with {@link compareForList}.
 *
 * Runs are ordered by (time, id bytes), the time being when the run was
 * created, or when it finished for a query with a finished bound
 * ({@link listsByFinish}): oldest first ascends, newest first descends. A
 * cursor is the position of the last run a page looked at; the next page
 * starts after it in the query's order.
 */
import type { ListPosition } from "./cursor.js";
import type { ListOrder, ListQuery, RunHeader } from "./types.js";

/** The order `list` uses when the query gives none. */
export const DEFAULT_LIST_ORDER: ListOrder = "newest";

/** Every order `list` takes. */
export const LIST_ORDERS: readonly ListOrder[] = ["newest", "oldest"];

/** True when the query lists runs by when they finished (it has a finished bound), not by when they were created. */
export function listsByFinish(query: Pick<ListQuery, "finishedAfter" | "finishedBefore">): boolean {
  return query.finishedAfter !== undefined || query.finishedBefore !== undefined;
}

/** Where `header` stands in a list by finish (`byFinish`) or by creation. A run listed by finish has finished (it matched). */
export function listPosition(header: RunHeader, byFinish: boolean): ListPosition {
  return { at: byFinish ? (header.finishedAt ?? 0) : header.createdAt, id: header.id };
}

/** Negative when `a` is listed before `b` in `order`, positive when after, 0 for the same position. */
export function compareForList(a: ListPosition, b: ListPosition, order: ListOrder): number {
  const ascending = a.at - b.at || Buffer.compare(Buffer.from(a.id), Buffer.from(b.id));
  return order === "oldest" ? ascending : -ascending;
}

/** True when `run` is listed after the cursor position `after` in `order`. */
export function isPastCursor(run: ListPosition, after: ListPosition | null, order: ListOrder): boolean {
  return after === null || compareForList(run, after, order) > 0;
}

/** True when `header` passes the query's filters: status, workflow, id prefix, creation and finish ranges (not the cursor). */
export function matchesListQuery(header: RunHeader, query: ListQuery): boolean {
  const { finishedAt } = header;
  return (
    (query.status === undefined || header.status === query.status) &&
    (query.workflow === undefined || header.workflow === query.workflow) &&
    (query.idPrefix === undefined || header.id.startsWith(query.idPrefix)) &&
    (query.createdAfter === undefined || header.createdAt >= query.createdAfter) &&
    (query.createdBefore === undefined || header.createdAt < query.createdBefore) &&
    // A live run has no finish time: no finished bound matches it.
    (query.finishedAfter === undefined || (finishedAt !== undefined && finishedAt >= query.finishedAfter)) &&
    (query.finishedBefore === undefined || (finishedAt !== undefined && finishedAt < query.finishedBefore))
  );
}
