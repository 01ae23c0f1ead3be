/**
 * Payload encoding: msgpackr, behind a contract (docs/codec.md) of what comes
 * back exactly and what is refused. Every payload a run keeps (its input, each
 * step's output, signal payloads, its result) goes through here, and so does
 * the hand-over from one step to the next, so a value reads the same whether
 * the run parked in between or not.
 *
 * msgpackr alone would change values silently: a `Map` and a plain object are
 * the same MessagePack map (a `Map` came back as an object, keys turned into
 * strings, `1` and `"1"` merged), `-0` is written as the integer 0, holes
 * become `undefined`, a lone surrogate becomes U+FFFD, a class instance loses
 * its class, a function becomes `undefined`, a cycle overflows the stack. So a
 * walk over the value checks it against the contract first, refusing anything
 * outside it with a `CodecError` naming its path, and swaps the two kinds
 * msgpackr cannot carry faithfully (`Map`, `-0`) for private wire types with
 * their own MessagePack extensions.
 */
import { addExtension, C1, Packr } from "msgpackr";
import { CodecError, PayloadTooLargeError, type ErrorContext } from "../errors.js";

/** Default largest encoded payload: 1 MiB. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;

/** Deepest nesting of objects, arrays, `Map`s and `Set`s a payload may have (the top-level container is level 1). */
export const MAX_PAYLOAD_DEPTH = 1000;

/** A `Map` on the wire: its entries, flattened as `[key, value, key, value, ...]`, insertion order kept. */
class WireMap {
  constructor(readonly entries: unknown[]) {}
}
/** `-0` on the wire (msgpackr writes it as the integer 0). */
class WireNegativeZero {}
const NEGATIVE_ZERO = new WireNegativeZero();

// Extension types 0x6d ("m") and 0x7a ("z") are free in msgpackr, which uses 0x42, 0x62, 0x65, 0x69, 0x70,
// 0x72, 0x73, 0x74, 0x78 and 0xff. Registration is global to this copy of msgpackr; the classes are private,
// so nothing else is written differently.
addExtension({
  Class: WireMap,
  type: 0x6d,
  write: (map: WireMap) => map.entries,
  read: (entries: unknown) => {
    if (!Array.isArray(entries) || entries.length % 2 !== 0) throw new Error("a Map extension does not hold key-value pairs");
    const map = new Map<unknown, unknown>();
    for (let i = 0; i < entries.length; i += 2) map.set(entries[i], entries[i + 1]);
    return map;
  },
});
addExtension({ Class: WireNegativeZero, type: 0x7a, write: () => 0, read: () => -0 });

// structuredClone off: bytes cannot make shared or cyclic references on decode. copyBuffers: a decoded
// Buffer is a copy, not a view that would let a step change the committed bytes it was decoded from.
const packr = new Packr({ useRecords: false, moreTypes: true, structuredClone: false, copyBuffers: true });

/** Typed arrays carried as they are; each comes back as the same class. `Buffer` is added where it exists. */
const TYPED_ARRAYS: ReadonlySet<object> = new Set(
  [
    Int8Array,
    Uint8Array,
    Uint8ClampedArray,
    Int16Array,
    Uint16Array,
    Int32Array,
    Uint32Array,
    Float32Array,
    Float64Array,
    BigInt64Array,
    BigUint64Array,
    (globalThis as { Buffer?: object }).Buffer,
  ]
    .filter((c) => c !== undefined)
    .map((c) => (c as { prototype: object }).prototype),
);

export interface EncodeOptions {
  /** What is being encoded, for error messages: `input of run "order-42"`. */
  readonly what: string;
  readonly maxBytes?: number;
  readonly context?: ErrorContext;
}

/**
 * Encodes a payload.
 * @throws CodecError naming the path of the first value outside the contract (docs/codec.md);
 * PayloadTooLargeError over `maxBytes`.
 */
export function encode(value: unknown, options: EncodeOptions): Uint8Array {
  let wire: unknown;
  try {
    wire = toWire(value, [], new Set());
  } catch (e) {
    if (!(e instanceof Refusal)) throw e;
    throw new CodecError(`${options.what} cannot be encoded: ${formatPath(e.path)} ${e.reason}`, options.context ?? {});
  }
  let bytes: Uint8Array;
  try {
    bytes = packr.pack(wire);
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
 * @throws CodecError naming `what` when the bytes are not a valid payload: malformed, holding the
 * reserved byte 0xC1, or nested deeper than {@link MAX_PAYLOAD_DEPTH} (never a stack overflow).
 */
export function decode(bytes: Uint8Array, what: string, context: ErrorContext = {}): unknown {
  let value: unknown;
  try {
    // msgpackr decodes MessagePack bin data as the class of the bytes it reads (a Buffer from a Buffer,
    // a Uint8Array from a Uint8Array); reading from a Buffer view makes it a Buffer whatever the store returned.
    value = packr.unpack(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    // Bytes nested far deeper than we ever write overflow msgpackr's recursive reader.
    const reason =
      e instanceof RangeError && /call stack/i.test(e.message) ? `nested deeper than ${MAX_PAYLOAD_DEPTH} levels` : (e as Error).message;
    throw new CodecError(`${what} is corrupted and cannot be decoded: ${reason}`, context, { cause: e });
  }
  const problem = checkDecoded(value, 0);
  if (problem) throw new CodecError(`${what} is corrupted: ${problem}`, context);
  return value;
}

/** What is wrong with a decoded value: the reserved byte 0xC1 (msgpackr reads it as a marker object), or too deep. */
function checkDecoded(value: unknown, depth: number): string | null {
  if (value === C1) return "it holds the reserved MessagePack byte 0xC1";
  if (typeof value !== "object" || value === null || ArrayBuffer.isView(value) || value instanceof Date) return null;
  if (depth === MAX_PAYLOAD_DEPTH) return `it is nested deeper than ${MAX_PAYLOAD_DEPTH} levels`;
  if (value instanceof Map) {
    for (const [k, v] of value) {
      const problem = checkDecoded(k, depth + 1) ?? checkDecoded(v, depth + 1);
      if (problem) return problem;
    }
    return null;
  }
  for (const child of value instanceof Set ? value : Object.values(value)) {
    const problem = checkDecoded(child, depth + 1);
    if (problem) return problem;
  }
  return null;
}

/** A path step: a property name, an array index, a `Map` key (`get`), or the n-th `Map` key or `Set` member. */
type PathStep =
  | { readonly kind: "property"; readonly name: string }
  | { readonly kind: "index"; readonly index: number }
  | { readonly kind: "get"; readonly key: unknown }
  | { readonly kind: "key" | "member"; readonly index: number };

/** Thrown through the walk; {@link encode} turns it into a `CodecError`. */
class Refusal extends Error {
  constructor(
    readonly path: readonly PathStep[],
    readonly reason: string,
  ) {
    super(reason);
  }
}

/**
 * Checks `value` against the contract and returns what to hand msgpackr: `value` itself
 * unless it holds a `Map` or `-0`, which are swapped for wire types (copying only the
 * containers on the way to them). `path` is the trail from the root, pushed and popped
 * in place so that a path is only formatted for a refusal.
 */
function toWire(value: unknown, path: PathStep[], ancestors: Set<object>): unknown {
  switch (typeof value) {
    case "string":
      if (!isWellFormed(value)) throw new Refusal(path, "is a string with a lone surrogate (not well-formed UTF-16)");
      return value;
    case "number":
      return Object.is(value, -0) ? NEGATIVE_ZERO : value;
    case "boolean":
    case "bigint":
    case "undefined":
      return value;
    case "function":
      throw new Refusal(path, "is a function");
    case "symbol":
      throw new Refusal(path, "is a symbol");
  }
  if (value === null) return null;
  const object = value as object;
  const proto: unknown = Object.getPrototypeOf(object);
  if (proto === Date.prototype || TYPED_ARRAYS.has(proto as object)) return object;
  if (ancestors.has(object)) throw new Refusal(path, "refers back to itself (a cyclic object)");
  if (ancestors.size === MAX_PAYLOAD_DEPTH) throw new Refusal(path, `is nested deeper than ${MAX_PAYLOAD_DEPTH} levels`);
  ancestors.add(object);
  try {
    if (proto === Array.prototype) return arrayToWire(object as unknown[], path, ancestors);
    if (proto === Object.prototype || proto === null) return objectToWire(object as Record<string, unknown>, path, ancestors);
    if (proto === Map.prototype) return mapToWire(object as Map<unknown, unknown>, path, ancestors);
    if (proto === Set.prototype) return setToWire(object as Set<unknown>, path);
  } finally {
    ancestors.delete(object);
  }
  throw new Refusal(path, describeUnsupported(object));
}

function arrayToWire(array: unknown[], path: PathStep[], ancestors: Set<object>): unknown[] {
  let wire: unknown[] | null = null;
  for (let i = 0; i < array.length; i++) {
    if (!(i in array)) throw new Refusal([...path, { kind: "index", index: i }], "is a hole in a sparse array");
    path.push({ kind: "index", index: i });
    const child = toWire(array[i], path, ancestors);
    path.pop();
    if (child !== array[i]) (wire ??= array.slice())[i] = child;
  }
  // msgpackr writes only the elements; anything else on the array would be dropped.
  const keys = Reflect.ownKeys(array);
  if (keys.length !== array.length + 1) {
    const extra = keys.find((k) => k !== "length" && !(typeof k === "string" && isIndex(k, array.length)))!;
    throw new Refusal(
      path,
      `is an array with a property ${String(typeof extra === "symbol" ? extra.toString() : JSON.stringify(extra))} besides its elements`,
    );
  }
  return wire ?? array;
}

function objectToWire(object: Record<string, unknown>, path: PathStep[], ancestors: Set<object>): Record<string, unknown> {
  const keys = Object.keys(object);
  // Symbol keys and non-enumerable properties would be dropped without a word.
  if (Reflect.ownKeys(object).length !== keys.length) {
    const hidden = Reflect.ownKeys(object).find((k) => typeof k === "symbol" || !Object.prototype.propertyIsEnumerable.call(object, k))!;
    throw new Refusal(
      path,
      typeof hidden === "symbol" ? `has a symbol key (${hidden.toString()})` : `has a non-enumerable property ${JSON.stringify(hidden)}`,
    );
  }
  let wire: Record<string, unknown> | null = null;
  for (const key of keys) {
    // msgpackr renames it on decode (it would set the prototype otherwise).
    if (key === "__proto__") throw new Refusal(path, 'has an own "__proto__" key');
    if (!isWellFormed(key)) throw new Refusal(path, `has a key with a lone surrogate (${JSON.stringify(key)})`);
    path.push({ kind: "property", name: key });
    const child = toWire(object[key], path, ancestors);
    path.pop();
    if (child !== object[key]) (wire ??= { ...object })[key] = child;
  }
  return wire ?? object;
}

function mapToWire(map: Map<unknown, unknown>, path: PathStep[], ancestors: Set<object>): WireMap {
  const entries: unknown[] = [];
  let i = 0;
  for (const [key, value] of map) {
    checkIdentityKey(key, [...path, { kind: "key", index: i }], "Map keys");
    path.push({ kind: "get", key });
    entries.push(key, toWire(value, path, ancestors));
    path.pop();
    i++;
  }
  return new WireMap(entries);
}

function setToWire(set: Set<unknown>, path: PathStep[]): Set<unknown> {
  let i = 0;
  for (const member of set) checkIdentityKey(member, [...path, { kind: "member", index: i++ }], "Set members");
  return set;
}

/**
 * `Map` keys and `Set` members are compared by identity: an object would come back as a
 * different object, so `get` and `has` would miss it. Only primitives are carried.
 */
function checkIdentityKey(key: unknown, path: readonly PathStep[], what: string): void {
  if (typeof key === "string" && !isWellFormed(key)) throw new Refusal(path, "is a string with a lone surrogate (not well-formed UTF-16)");
  if (typeof key === "symbol") throw new Refusal(path, "is a symbol");
  if ((typeof key === "object" && key !== null) || typeof key === "function") {
    throw new Refusal(
      path,
      `is ${typeof key === "function" ? "a function" : "an object"}; ${what} must be primitives (an object would not come back as the same object)`,
    );
  }
}

function describeUnsupported(object: object): string {
  if (typeof (object as { then?: unknown }).then === "function") return "is a Promise or thenable (a missing await?)";
  if (object instanceof Error) return "is an Error; carry its fields as a plain object (e.g. { name, message })";
  const name = (object as { constructor?: { name?: unknown } }).constructor?.name;
  const kind =
    typeof name === "string" && name !== "" ? `${/^[AEIOU]/.test(name) ? "an" : "a"} ${name}` : "an object with a custom prototype";
  return `is ${kind}; only plain objects, arrays, Map, Set, Date, typed arrays and primitives are carried (see docs/codec.md)`;
}

/** `String.prototype.isWellFormed` (Node 20+; the ES2023 lib this package compiles against does not declare it). */
function isWellFormed(text: string): boolean {
  return (text as unknown as { isWellFormed(): boolean }).isWellFormed();
}

function isIndex(key: string, length: number): boolean {
  const n = Number(key);
  return Number.isInteger(n) && n >= 0 && n < length && String(n) === key;
}

/** `$.items[2].get("k")`, shortened in the middle when very long (a refusal for depth). */
function formatPath(path: readonly PathStep[]): string {
  const steps = path.map((step) => {
    switch (step.kind) {
      case "property":
        return /^[A-Za-z_$][\w$]*$/.test(step.name) ? `.${step.name}` : `[${JSON.stringify(step.name)}]`;
      case "index":
        return `[${step.index}]`;
      case "get":
        return `.get(${formatKey(step.key)})`;
      case "key":
        return `.keys()[${step.index}]`;
      case "member":
        return `.values()[${step.index}]`;
    }
  });
  const shown = steps.length > 24 ? [...steps.slice(0, 12), `…(${steps.length - 20} more)…`, ...steps.slice(-8)] : steps;
  return `$${shown.join("")}`;
}

function formatKey(key: unknown): string {
  if (typeof key === "string") return JSON.stringify(key.length > 40 ? `${key.slice(0, 40)}…` : key);
  if (typeof key === "bigint") return `${key}n`;
  return Object.is(key, -0) ? "-0" : String(key);
}
