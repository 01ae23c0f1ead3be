/**
 * Step outputs, inputs and payloads are msgpack values, which hold more than
 * JSON does (BigInt, Map, Set, Date, bytes, undefined). The dashboard shows
 * them as JSON, so each is turned into a JSON-safe stand-in that reads the
 * same, instead of making `JSON.stringify` throw or drop it silently.
 */
import type { JsonValue } from "../shared/api.js";

/** Deeper values are shown cut off: the walk recurses, and a run must stay viewable whatever it holds. */
const MAX_SHOWN_DEPTH = 200;

/** `value` as the JSON value the dashboard shows. */
export function toJsonValue(value: unknown, ancestors: readonly object[] = []): JsonValue {
  if (typeof value !== "object" || value === null) return primitive(value);
  // Only a value inside itself is a cycle; the same object twice side by side is not.
  if (ancestors.includes(value)) return "[circular]";
  if (ancestors.length >= MAX_SHOWN_DEPTH) return `[nested deeper than ${MAX_SHOWN_DEPTH} levels]`;
  const inside = [...ancestors, value];
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString();
  if (ArrayBuffer.isView(value)) return `[${value.byteLength} bytes]`;
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (Array.isArray(value) || value instanceof Set) return [...(value as Iterable<unknown>)].map((v) => toJsonValue(v, inside));
  const entries = value instanceof Map ? [...(value as Map<unknown, unknown>)] : Object.entries(value);
  const out: Record<string, JsonValue> = {};
  for (const [k, v] of entries) if (v !== undefined) out[String(k)] = toJsonValue(v, inside);
  return out;
}

function primitive(value: unknown): JsonValue {
  switch (typeof value) {
    case "bigint":
      return `${value}n`;
    case "number":
      return Number.isFinite(value) ? value : String(value);
    case "string":
    case "boolean":
      return value;
    case "symbol":
    case "function":
      return String(value);
    default:
      return null;
  }
}
