/**
 * Payload encoding: msgpackr, behind checks that make bad values fail loudly
 * instead of being stored wrong. msgpackr would silently store a function as
 * `undefined` and overflow the stack on a cycle; we reject both, with a
 * `CodecError` naming what was being encoded, before anything is written.
 */
import { C1, Packr } from "msgpackr";
import { CodecError, PayloadTooLargeError, type ErrorContext } from "../errors.js";

const packr = new Packr({ useRecords: false, moreTypes: true });

/** Default largest encoded payload: 1 MiB. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;

export interface EncodeOptions {
  /** What is being encoded, for error messages: `input of run "order-42"`. */
  readonly what: string;
  readonly maxBytes?: number;
  readonly context?: ErrorContext;
}

/**
 * Encodes a payload.
 * @throws CodecError for functions, symbols and cyclic objects; PayloadTooLargeError over `maxBytes`.
 */
export function encode(value: unknown, options: EncodeOptions): Uint8Array {
  const problem = findUnencodable(value, "$", new Set());
  if (problem) throw new CodecError(`${options.what} cannot be encoded: ${problem}`, options.context ?? {});
  let bytes: Uint8Array;
  try {
    bytes = packr.pack(value);
  } catch (e) {
    throw new CodecError(`${options.what} cannot be encoded: ${(e as Error).message}`, options.context ?? {}, { cause: e });
  }
  const max = options.maxBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  if (bytes.byteLength > max) {
    throw new PayloadTooLargeError(`${options.what} is ${bytes.byteLength} bytes encoded, over the ${max}-byte limit`, {
      ...options.context,
      bytes: bytes.byteLength,
      limit: max,
    });
  }
  return bytes;
}

/**
 * Decodes a stored payload.
 * @throws CodecError naming `what` when the bytes are not a valid payload.
 */
export function decode(bytes: Uint8Array, what: string, context: ErrorContext = {}): unknown {
  let value: unknown;
  try {
    value = packr.unpack(bytes);
  } catch (e) {
    throw new CodecError(`${what} is corrupted and cannot be decoded: ${(e as Error).message}`, context, { cause: e });
  }
  // msgpackr reads the reserved byte 0xC1 as a marker object instead of failing; we never write it.
  if (holdsReservedByte(value)) throw new CodecError(`${what} is corrupted: it holds the reserved MessagePack byte 0xC1`, context);
  return value;
}

function holdsReservedByte(value: unknown): boolean {
  if (value === C1) return true;
  if (typeof value !== "object" || value === null || ArrayBuffer.isView(value)) return false;
  const children = value instanceof Map ? value.values() : value instanceof Set ? value.values() : Object.values(value);
  for (const child of children) if (holdsReservedByte(child)) return true;
  return false;
}

/** Describes the first value msgpack cannot carry faithfully, by its path, or null. */
function findUnencodable(value: unknown, path: string, ancestors: Set<object>): string | null {
  switch (typeof value) {
    case "function":
      return `${path} is a function`;
    case "symbol":
      return `${path} is a symbol`;
    case "object": {
      if (value === null || ArrayBuffer.isView(value) || value instanceof Date) return null;
      if (ancestors.has(value)) return `${path} refers back to itself (a cyclic object)`;
      ancestors.add(value);
      try {
        const entries: Iterable<[string, unknown]> =
          value instanceof Map
            ? [...value].map(([k, v]) => [String(k), v])
            : value instanceof Set
              ? [...value].map((v, i) => [String(i), v])
              : Object.entries(value);
        for (const [key, child] of entries) {
          const problem = findUnencodable(child, Array.isArray(value) ? `${path}[${key}]` : `${path}.${key}`, ancestors);
          if (problem) return problem;
        }
      } finally {
        ancestors.delete(value);
      }
      return null;
    }
    default:
      return null;
  }
}
