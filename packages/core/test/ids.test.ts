import { setTimeout as sleep } from "node:timers/promises";
import { expect, it } from "vitest";
import { createMemoryEngine, flow, newId } from "../src/index.js";

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** The ms a ULID was made in, from its first ten characters. */
const timeOf = (id: string) => [...id.slice(0, 10)].reduce((t, c) => t * 32 + CROCKFORD.indexOf(c), 0);

it("makes ULIDs: 26 Crockford base32 characters, the first ten the time it was made", () => {
  const before = Date.now();
  const id = newId();
  const after = Date.now();
  expect(id).toMatch(ULID);
  expect(timeOf(id)).toBeGreaterThanOrEqual(before);
  expect(timeOf(id)).toBeLessThanOrEqual(after);
});

it("never makes the same id twice, and uses every character in the random part", () => {
  // Many pools' worth of random bytes (256 ids a pool): each is refilled, not reused.
  const ids = Array.from({ length: 20_000 }, () => newId());
  expect(new Set(ids).size).toBe(ids.length);
  const seen = new Set(ids.flatMap((id) => [...id.slice(10)]));
  expect([...seen].sort().join("")).toBe(CROCKFORD);
});

it("sorts ids made in later milliseconds after earlier ones", async () => {
  const first = newId();
  await sleep(3);
  const second = newId();
  expect(first < second).toBe(true);
});

it("gives a run started without an id a ULID", async () => {
  const wf = flow<number>("ids")
    .then("double", (x: number) => x * 2)
    .build();
  const engine = createMemoryEngine({ workflows: [wf] });
  try {
    const handle = await engine.start(wf, 21);
    expect(handle.id).toMatch(ULID);
    expect(await handle.result({ timeout: "5s" })).toBe(42);
    expect((await engine.status(handle.id)).status).toBe("completed");
  } finally {
    await engine.close();
  }
});
