import { describe, expect, it } from "vitest";
import { decode, encode, MAX_PAYLOAD_DEPTH } from "../src/codec/codec.js";
import { CodecError, isParkwayError } from "../src/errors.js";
import { codecDifference, codecRefusals, codecRoundTrips } from "../src/testing/codec-cases.js";

const options = { what: "payload", context: { instanceId: "r1" } };

function codecError(fn: () => unknown): CodecError {
  try {
    fn();
  } catch (e) {
    if (isParkwayError(e, "CODEC")) return e;
    throw e;
  }
  throw new Error("expected a CodecError");
}

/** MessagePack bytes: `depth` one-element arrays around the integer 1. */
function nestedArrays(depth: number): Uint8Array {
  const bytes = new Uint8Array(depth + 1).fill(0x91);
  bytes[depth] = 0x01;
  return bytes;
}

describe("the codec contract (docs/codec.md)", () => {
  for (const entry of codecRoundTrips) {
    it(`round-trips ${entry.name}`, () => {
      const expected = (entry.expected ?? entry.make)();
      expect(codecDifference(decode(encode(entry.make(), options), "payload"), expected)).toBeNull();
    });
  }

  for (const entry of codecRefusals) {
    it(`refuses ${entry.name}, naming its path`, () => {
      const error = codecError(() => encode(entry.make(), options));
      expect(error.message).toContain(`payload cannot be encoded: ${entry.path} `);
      expect(error.message).toContain(entry.reason);
      expect(error.context).toEqual({ instanceId: "r1" });
    });
  }

  it("reports the first refused value in walk order", () => {
    expect(codecError(() => encode({ a: [1, () => 1], b: Symbol("s") }, options)).message).toContain("$.a[1] is a function");
  });

  it("names odd property keys unambiguously", () => {
    expect(codecError(() => encode({ "a.b": { "": () => 1 } }, options)).message).toContain('$["a.b"][""] is a function');
    expect(codecError(() => encode(new Map([[1n, new Map([["x y", Symbol()]])]]), options)).message).toContain(
      '$.get(1n).get("x y") is a symbol',
    );
  });

  it("a shared object that is not a cycle is accepted", () => {
    const shared = { x: 1 };
    expect(decode(encode([shared, shared, { shared }], options), "p")).toEqual([{ x: 1 }, { x: 1 }, { shared: { x: 1 } }]);
  });

  it("a value nested 5,000 deep is a CodecError, not a RangeError", () => {
    let deep: unknown = 1;
    for (let i = 0; i < 5000; i++) deep = { a: deep };
    expect(codecError(() => encode(deep, options)).message).toContain(`is nested deeper than ${MAX_PAYLOAD_DEPTH} levels`);
  });

  it("a decoded Buffer is a copy: changing it leaves the bytes it came from as they were", () => {
    const bytes = encode({ data: Buffer.from("parkway") }, options);
    const first = decode(bytes, "p") as { data: Buffer };
    first.data.fill(0);
    expect((decode(bytes, "p") as { data: Buffer }).data.toString()).toBe("parkway");
  });

  it("bytes from any Uint8Array decode alike (a store may hand back either class)", () => {
    const bytes = encode({ data: Buffer.from([1]) }, options);
    expect(decode(new Uint8Array(bytes), "p")).toEqual(decode(bytes, "p"));
    expect((decode(new Uint8Array(bytes), "p") as { data: unknown }).data).toBeInstanceOf(Buffer);
  });
});

describe("decoding hostile bytes", () => {
  it("nesting at the limit decodes", () => {
    expect(() => decode(nestedArrays(MAX_PAYLOAD_DEPTH), "p")).not.toThrow();
  });

  it("nesting past the limit is a CodecError naming what was decoded", () => {
    const error = codecError(() => decode(nestedArrays(MAX_PAYLOAD_DEPTH + 1), 'output of run "x"', { instanceId: "x" }));
    expect(error.message).toBe(`output of run "x" is corrupted: it is nested deeper than ${MAX_PAYLOAD_DEPTH} levels`);
    expect(error.context).toEqual({ instanceId: "x" });
  });

  it("nesting deep enough to overflow the decoder's stack is a CodecError, and the next decode works", () => {
    const error = codecError(() => decode(nestedArrays(1_000_000), "p"));
    expect(error.message).toContain("is corrupted and cannot be decoded");
    expect(decode(encode(new Map([[1, "one"]]), options), "p")).toEqual(new Map([[1, "one"]]));
  });

  it("the reserved byte 0xC1 is a CodecError, at the top or nested in a Map", () => {
    expect(codecError(() => decode(Uint8Array.from([0xc1]), "p")).message).toContain("0xC1");
    // A Map extension (0xd4 0x6d 0x00) holding [1, 0xC1].
    expect(codecError(() => decode(Uint8Array.from([0xd4, 0x6d, 0x00, 0x92, 0x01, 0xc1]), "p")).message).toContain("0xC1");
  });

  it("a malformed Map extension is a CodecError", () => {
    expect(codecError(() => decode(Uint8Array.from([0xd4, 0x6d, 0x00, 0x91, 0x01]), "p")).message).toContain("key-value pairs");
    expect(codecError(() => decode(Uint8Array.from([0xd4, 0x6d, 0x00, 0x01]), "p")).message).toContain("key-value pairs");
  });

  it("shared-reference and cycle extensions are refused", () => {
    // A structured-clone id (0x69) wrapping an array that points (0x70) back at itself.
    const cyclic = Uint8Array.from([0xd6, 0x69, 0, 0, 0, 1, 0x91, 0xd6, 0x70, 0, 0, 0, 1]);
    expect(codecError(() => decode(cyclic, "p")).message).toContain("cannot be decoded");
  });

  it("truncated bytes are a CodecError", () => {
    const bytes = encode({ a: "a long enough string" }, options);
    expect(codecError(() => decode(bytes.subarray(0, bytes.length - 3), "p")).message).toContain("cannot be decoded");
  });
});
