/**
 * Reads the query strings of the list endpoints. Every parameter is checked
 * here, before a live stream is keyed by the query or the store is asked: an
 * unknown or repeated parameter, a bad status, order, time or limit is a
 * `ValidationError` naming it (a 400), never silently ignored.
 */
import { assertId, assertScheduleId, LIST_ORDERS, ValidationError, type ListOrder } from "@parkway/core";
import { RUN_STATUSES, RUNS_QUERY_PARAMS, isRunStatus, type RunsQuery, type SchedulesQuery } from "../shared/api.js";

/** Runs per page when the query does not say. */
export const DEFAULT_PAGE_SIZE = 25;
/** Schedules per page when the query does not say. */
export const DEFAULT_SCHEDULES_PAGE_SIZE = 50;
/** The most a page of runs or schedules may hold: each is read on every poll of a live view. */
export const MAX_PAGE_SIZE = 200;

/** An ISO 8601 date and time, with seconds and fraction optional and a zone required (a bare local time would depend on the server's zone). */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;

/** Reads a runs query from URL parameters. @throws ValidationError naming the bad parameter */
export function parseRunsQuery(params: URLSearchParams): RunsQuery {
  const get = checkedParams(params, RUNS_QUERY_PARAMS);
  const status = get("status");
  if (status !== undefined && !isRunStatus(status)) {
    throw new ValidationError(`status must be one of ${RUN_STATUSES.join(", ")}, got ${quoted(status)}`);
  }
  const workflow = get("workflow");
  if (workflow !== undefined) assertId(workflow, "workflow");
  const idPrefix = get("idPrefix");
  if (idPrefix !== undefined) assertId(idPrefix, "idPrefix");
  const order = get("order");
  if (order !== undefined && !LIST_ORDERS.includes(order as ListOrder)) {
    throw new ValidationError(`order must be one of ${LIST_ORDERS.join(", ")}, got ${quoted(order)}`);
  }
  const created = parseTimeRange(get, "createdAfter", "createdBefore");
  const finished = parseTimeRange(get, "finishedAfter", "finishedBefore");
  const cursor = get("cursor");
  // Every store's cursor is a short base64url token; anything else cannot be one, and need not reach the store.
  if (cursor !== undefined && !/^[A-Za-z0-9_-]{1,512}$/.test(cursor)) {
    throw new ValidationError("cursor must be the cursor of a previous page (a base64url token)");
  }
  const limit = parseLimit(get("limit"));
  return {
    ...(status ? { status } : {}),
    ...(workflow ? { workflow } : {}),
    ...(idPrefix ? { idPrefix } : {}),
    ...created,
    ...finished,
    ...(order ? { order: order as ListOrder } : {}),
    ...(cursor ? { cursor } : {}),
    ...(limit !== undefined ? { limit } : {}),
  };
}

/** Reads a schedules query from URL parameters. @throws ValidationError naming the bad parameter */
export function parseSchedulesQuery(params: URLSearchParams): SchedulesQuery {
  const get = checkedParams(params, ["cursor", "limit"]);
  // A schedules cursor is the last schedule id of the previous page.
  const cursor = get("cursor");
  if (cursor !== undefined) assertScheduleId(cursor, "cursor");
  const limit = parseLimit(get("limit"));
  return { ...(cursor ? { cursor } : {}), ...(limit !== undefined ? { limit } : {}) };
}

/**
 * A reader of `params` that refuses what a query cannot hold: a parameter not in `allowed`, or one
 * given twice. An empty value reads as absent (an emptied search field).
 */
function checkedParams(params: URLSearchParams, allowed: readonly string[]): (name: string) => string | undefined {
  const seen = new Set<string>();
  for (const name of params.keys()) {
    if (!allowed.includes(name)) throw new ValidationError(`unknown query parameter ${quoted(name)} (use ${allowed.join(", ")})`);
    if (seen.has(name)) throw new ValidationError(`query parameter ${quoted(name)} is given more than once`);
    seen.add(name);
  }
  return (name) => params.get(name) || undefined;
}

function parseLimit(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const limit = Number(text);
  if (!/^\d+$/.test(text) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw new ValidationError(`limit must be an integer from 1 to ${MAX_PAGE_SIZE}, got ${quoted(text)}`);
  }
  return limit;
}

/** One time range of a runs query, its bounds present only when given. @throws ValidationError naming the bad bound */
function parseTimeRange<A extends keyof RunsQuery, B extends keyof RunsQuery>(
  get: (name: string) => string | undefined,
  after: A,
  before: B,
): { [K in A | B]?: number } {
  const low = parseTime(get(after), after);
  const high = parseTime(get(before), before);
  if (low !== undefined && high !== undefined && low > high) throw new ValidationError(`${after} must not be later than ${before}`);
  return { ...(low === undefined ? {} : { [after]: low }), ...(high === undefined ? {} : { [before]: high }) } as { [K in A | B]?: number };
}

/** A time given as an ISO 8601 date and time with its zone, or as ms since the epoch. @throws ValidationError naming `name` */
function parseTime(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const ms = /^\d{1,15}$/.test(text) ? Number(text) : ISO_TIME.test(text) ? Date.parse(text) : Number.NaN;
  if (!Number.isSafeInteger(ms) || ms < 0) {
    throw new ValidationError(
      `${name} must be an ISO 8601 time with its zone (2025-03-01T14:05:00Z) or ms since the epoch, got ${quoted(text)}`,
    );
  }
  return ms;
}

function quoted(text: string): string {
  return JSON.stringify(text.slice(0, 40));
}
