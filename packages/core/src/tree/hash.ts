import { createHash } from "node:crypto";
import type { Continuation } from "./nodes.js";

/**
 * A stable hash of the tree's shape: node kinds, ids, refs, durations, signal
 * names, step options, map bounds, and the run's timeout when it has one.
 * Functions are not part of the tree, so editing a task's body keeps the hash;
 * object key order never matters.
 */
export function hashTree(name: string, root: Continuation, timeoutMs?: number): string {
  return createHash("sha256").update(canonicalJson({ name, root, timeoutMs })).digest("hex").slice(0, 32);
}

/** JSON with object keys sorted, so equal data always gives equal text. */
export function canonicalJson(value: unknown): string {
  if (value === undefined) return "null";
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}
