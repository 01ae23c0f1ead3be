/**
 * The `list` cursor, one format for every store: base64url of the JSON pair
 * `[at, id]` of the last run of a page (`at`: its creation time, or its finish
 * time when the query lists by finish; see `list-order.ts`), the next page
 * starting after it in (at, id) order. Opaque to callers, so anything that is
 * not a cursor a store wrote is refused here, whole, before a store reads it.
 */
import { ValidationError } from "../errors.js";

/** Where a run stands in a list: the time the list is ordered by, and the id. The next page starts after the last one. */
export interface ListPosition {
  readonly at: number;
  readonly id: string;
}

/** The cursor of the page after `last`. */
export function encodeListCursor(last: ListPosition): string {
  return Buffer.from(JSON.stringify([last.at, last.id])).toString("base64url");
}

/** @throws ValidationError naming `cursor` unless `cursor` is exactly what {@link encodeListCursor} writes. */
export function decodeListCursor(cursor: unknown): ListPosition {
  const refuse = (why: string): never => {
    throw new ValidationError(`list: cursor ${why}; pass back the cursor of a previous page`, { option: "cursor" });
  };
  if (typeof cursor !== "string") return refuse(`must be a string, got ${cursor === null ? "null" : typeof cursor}`);
  if (!/^[A-Za-z0-9_-]{1,2048}$/.test(cursor)) return refuse("is not a list cursor");
  let pair: unknown;
  try {
    pair = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    return refuse("is not a list cursor");
  }
  if (!Array.isArray(pair) || pair.length !== 2) return refuse("is not a list cursor");
  const [at, id] = pair as [unknown, unknown];
  if (typeof at !== "number" || !Number.isSafeInteger(at) || at < 0) return refuse("is not a list cursor");
  if (typeof id !== "string" || id === "") return refuse("is not a list cursor");
  // Canonical form only: trailing bytes or another spelling of the same pair are not a cursor a store wrote.
  if (encodeListCursor({ at, id }) !== cursor) return refuse("is not a list cursor");
  return { at, id };
}
