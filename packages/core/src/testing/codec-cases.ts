/**
 * The payload contract of docs/codec.md as data: every kind of value that
 * round-trips, with what comes back, and every kind that is refused, with the
 * path its `CodecError` names. The behaviour suite sends each round-trip case
 * through both hand-overs (in process, and parked and reloaded) on every store;
 * the codec's unit tests send every case through `encode` and `decode`.
 */

/** A value that round-trips. `make` builds a fresh one; `expected` is what comes back (by default, an equal value). */
export interface RoundTripCase {
  readonly name: string;
  readonly make: () => unknown;
  readonly expected?: () => unknown;
}

/** A value that is refused; `path` is the path the `CodecError` names, `reason` a fragment of what it says. */
export interface RefusalCase {
  readonly name: string;
  readonly make: () => unknown;
  readonly path: string;
  readonly reason: string;
}

function nested(depth: number): unknown {
  let value: unknown = "bottom";
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

export const codecRoundTrips: readonly RoundTripCase[] = [
  { name: "a plain object, key order kept", make: () => ({ b: 1, 2: "two", a: { c: [1, 2] }, "with space": true }) },
  { name: "an empty object and an empty array", make: () => ({ o: {}, a: [] }) },
  {
    name: "an object with no prototype comes back as a plain object",
    make: () => Object.assign(Object.create(null) as object, { a: 1 }),
    expected: () => ({ a: 1 }),
  },
  { name: "a dense array", make: () => [1, "two", null, [3], { four: 4 }] },
  { name: "strings, including astral characters and NUL", make: () => ["", "héllo", "🦜 parrot", "\u0000", "\ud83e\udd9c"] },
  { name: "numbers", make: () => [0, 1.5, -7, 2 ** 53 + 2, Number.MAX_VALUE, Number.MIN_VALUE, -(2 ** 31)] },
  { name: "-0 at the top", make: () => -0 },
  { name: "-0 nested", make: () => ({ z: -0, list: [-0, 0], map: new Map([["z", -0]]) }) },
  { name: "NaN and the infinities", make: () => [NaN, Infinity, -Infinity] },
  { name: "bigints, small and beyond 64 bits", make: () => [0n, -5n, 2n ** 64n, -(2n ** 100n)] },
  { name: "booleans and null", make: () => [true, false, null] },
  { name: "undefined at the top", make: () => undefined },
  { name: "undefined as a property value keeps its key", make: () => ({ a: undefined, b: 1 }) },
  { name: "undefined as an array element", make: () => [undefined, 1] },
  {
    name: "dates, including before 1970 and invalid",
    make: () => [new Date(0), new Date(1_700_000_000_123), new Date(-1e12 + 7), new Date(NaN)],
  },
  { name: "a Uint8Array comes back as a Uint8Array", make: () => new Uint8Array([0, 1, 255]) },
  {
    name: "a Uint8Array view comes back as its own bytes",
    make: () => new Uint8Array([9, 8, 7, 6]).subarray(1, 3),
    expected: () => new Uint8Array([8, 7]),
  },
  { name: "a Buffer comes back as a Buffer", make: () => Buffer.from("parkway") },
  {
    name: "other typed arrays keep their class",
    make: () => [new Float64Array([1.5, -0, NaN]), new Int32Array([-1, 2]), new BigInt64Array([-3n])],
  },
  {
    name: "a Map keeps number and string keys apart, in order",
    make: () =>
      new Map<unknown, unknown>([
        [1, "one"],
        ["1", "uno"],
      ]),
  },
  {
    name: "a Map with every kind of primitive key",
    make: () =>
      new Map<unknown, unknown>([
        [true, 1],
        [null, 2],
        [undefined, 3],
        [10n, 4],
        [NaN, 5],
        ["", 6],
        [-1.5, 7],
      ]),
  },
  {
    name: "Maps nested in objects and Maps",
    make: () => ({ outer: new Map<unknown, unknown>([["inner", new Map([[1, { deep: new Map() }]])]]) }),
  },
  { name: "an empty Map", make: () => new Map() },
  { name: "a Set of primitives, in order", make: () => new Set<unknown>([1, "1", 2n, null, undefined, NaN, true]) },
  { name: "an empty Set", make: () => new Set() },
  {
    name: "a shared object comes back as two equal copies",
    make: () => {
      const shared = { x: 1 };
      return { a: shared, b: shared };
    },
  },
  { name: "nesting at the depth limit (1,000 levels)", make: () => nested(1000) },
];

class Point {
  constructor(readonly x: number) {}
}
class MapOfThings extends Map<string, number> {}

export const codecRefusals: readonly RefusalCase[] = [
  { name: "a function", make: () => ({ a: { f: () => 1 } }), path: "$.a.f", reason: "is a function" },
  { name: "a symbol", make: () => [1, Symbol("s")], path: "$[1]", reason: "is a symbol" },
  { name: "a symbol key", make: () => ({ ok: 1, [Symbol("s")]: 1 }), path: "$", reason: "has a symbol key" },
  {
    name: "a cycle",
    make: () => {
      const cyclic: Record<string, unknown> = { list: [] };
      (cyclic.list as unknown[]).push(cyclic);
      return cyclic;
    },
    path: "$.list[0]",
    reason: "cyclic",
  },
  { name: "a Promise", make: () => ({ pending: Promise.resolve(1) }), path: "$.pending", reason: "missing await" },
  { name: "a thenable", make: () => ({ job: { then: () => undefined } }), path: "$.job.then", reason: "is a function" },
  { name: "a WeakMap", make: () => ({ cache: new WeakMap() }), path: "$.cache", reason: "is a WeakMap" },
  { name: "a WeakSet", make: () => [new WeakSet()], path: "$[0]", reason: "is a WeakSet" },
  { name: "a class instance", make: () => ({ at: new Point(1) }), path: "$.at", reason: "is a Point" },
  { name: "a Map subclass", make: () => ({ m: new MapOfThings() }), path: "$.m", reason: "is a MapOfThings" },
  { name: "an Error", make: () => ({ error: new Error("boom") }), path: "$.error", reason: "is an Error" },
  { name: "a RegExp", make: () => ({ pattern: /a+/g }), path: "$.pattern", reason: "is a RegExp" },
  { name: "a boxed primitive", make: () => ({ s: new String("x") }), path: "$.s", reason: "is a String" },
  { name: "an ArrayBuffer", make: () => ({ raw: new ArrayBuffer(2) }), path: "$.raw", reason: "is an ArrayBuffer" },
  { name: "a sparse array", make: () => ({ list: [1, , 3] }), path: "$.list[1]", reason: "hole" },
  { name: "an array with a named property", make: () => Object.assign([1], { extra: true }), path: "$", reason: 'property "extra"' },
  {
    name: "an own __proto__ key",
    make: () => ({ input: JSON.parse('{"__proto__": {"admin": true}}') as unknown }),
    path: "$.input",
    reason: "__proto__",
  },
  {
    name: "a non-enumerable property",
    make: () => Object.defineProperty({ a: 1 }, "hidden", { value: 2 }),
    path: "$",
    reason: 'non-enumerable property "hidden"',
  },
  { name: "a lone surrogate in a string", make: () => ({ name: "order-\ud83e" }), path: "$.name", reason: "lone surrogate" },
  { name: "a lone surrogate in a key", make: () => ({ nested: { "k\udc00": 1 } }), path: "$.nested", reason: "lone surrogate" },
  { name: "a lone surrogate in a Map key", make: () => new Map([["\ud800", 1]]), path: "$.keys()[0]", reason: "lone surrogate" },
  {
    name: "an object as a Map key",
    make: () => ({ m: new Map([["a", 0]]).set({} as never, 1) }),
    path: "$.m.keys()[1]",
    reason: "Map keys must be primitives",
  },
  {
    name: "an object as a Set member",
    make: () => new Set<unknown>([1, [2]]),
    path: "$.values()[1]",
    reason: "Set members must be primitives",
  },
  { name: "a refused value inside a Map", make: () => new Map([["cb", () => 1]]), path: '$.get("cb")', reason: "is a function" },
  {
    name: "nesting past the depth limit (1,001 levels)",
    make: () => nested(1001),
    path: `$${"[0]".repeat(12)}…(980 more)…${"[0]".repeat(8)}`,
    reason: "is nested deeper than 1000 levels",
  },
];

/**
 * Where `got` differs from `expected`, or null: exact class (prototype), `Object.is` for
 * primitives (so -0 and NaN count), own keys in order, Map and Set entries in order.
 */
export function codecDifference(got: unknown, expected: unknown, path = "$"): string | null {
  if (typeof expected !== "object" || expected === null || typeof got !== "object" || got === null) {
    return Object.is(got, expected) ? null : `${path}: got ${show(got)}, expected ${show(expected)}`;
  }
  if (Object.getPrototypeOf(got) !== Object.getPrototypeOf(expected)) {
    return `${path}: got a ${className(got)}, expected a ${className(expected)}`;
  }
  if (expected instanceof Date)
    return Object.is((got as Date).getTime(), expected.getTime()) ? null : `${path}: got ${show(got)}, expected ${show(expected)}`;
  if (ArrayBuffer.isView(expected)) {
    const a = new Uint8Array((got as ArrayBufferView).buffer, (got as ArrayBufferView).byteOffset, (got as ArrayBufferView).byteLength);
    const b = new Uint8Array(expected.buffer, expected.byteOffset, expected.byteLength);
    return a.length === b.length && a.every((x, i) => x === b[i]) ? null : `${path}: bytes differ`;
  }
  if (expected instanceof Map || expected instanceof Set) {
    const gotEntries = [...(got as Map<unknown, unknown> | Set<unknown>).entries()];
    const expectedEntries = [...expected.entries()];
    if (gotEntries.length !== expectedEntries.length)
      return `${path}: got ${gotEntries.length} entries, expected ${expectedEntries.length}`;
    for (let i = 0; i < expectedEntries.length; i++) {
      const difference =
        codecDifference(gotEntries[i]![0], expectedEntries[i]![0], `${path}.keys()[${i}]`) ??
        codecDifference(gotEntries[i]![1], expectedEntries[i]![1], `${path}.values()[${i}]`);
      if (difference) return difference;
    }
    return null;
  }
  const gotKeys = Reflect.ownKeys(got);
  const expectedKeys = Reflect.ownKeys(expected);
  if (gotKeys.join() !== expectedKeys.join())
    return `${path}: got keys [${gotKeys.map(String).join()}], expected [${expectedKeys.map(String).join()}]`;
  for (const key of expectedKeys) {
    if (key === "length" && Array.isArray(expected)) continue;
    const difference = codecDifference(
      (got as Record<PropertyKey, unknown>)[key],
      (expected as Record<PropertyKey, unknown>)[key],
      `${path}[${String(key)}]`,
    );
    if (difference) return difference;
  }
  return null;
}

function className(value: object): string {
  const proto = Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null;
  return proto === null ? "null-prototype object" : (proto.constructor?.name ?? "object");
}

function show(value: unknown): string {
  if (typeof value === "bigint") return `${value}n`;
  if (Object.is(value, -0)) return "-0";
  if (value instanceof Date) return `Date(${value.getTime()})`;
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}
