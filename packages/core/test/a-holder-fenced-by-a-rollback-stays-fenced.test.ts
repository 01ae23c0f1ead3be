/**
 * A store restored from an older copy of itself (what a Redis failover to a
 * replica that lagged does to a run) lost its holder's last commits, and the
 * versions they made. The holder still writes with the version of its last
 * lost commit; the run's next holder must not be handed that version. The
 * Redis store's case, on a real failover, is
 * packages/redis/test/a-holder-fenced-by-a-failover-stays-fenced.test.ts.
 */
import { expect, it } from "vitest";
import { FakeClock, MemoryStore, StaleVersionError } from "../src/index.js";

const bytes = (text: string) => new TextEncoder().encode(text);
const LEASE = 1000;

it("the next holder after a rollback gets none of the versions the rolled-back holder had", async () => {
  const clock = new FakeClock();
  const before = new MemoryStore(clock);
  await before.start({ id: "r", workflow: "wf", hash: "h", input: bytes("in") });
  const first = await before.acquire("r", LEASE);
  if (!first.acquired) throw new Error("not acquired");
  const copy = before.snapshot();

  // Two commits the copy never saw; the holder keeps the version the last one made.
  let held = first.run.header.version;
  const versions = [held];
  for (const key of ["a", "b"]) {
    held = (await before.commit("r", held, key, bytes(key), 1, LEASE)).version;
    versions.push(held);
  }

  const rolledBack = new MemoryStore(clock, copy);
  clock.sleepSync(LEASE);
  const second = await rolledBack.acquire("r", LEASE);
  if (!second.acquired) throw new Error("not acquired");
  expect(versions).not.toContain(second.run.header.version);
  for (const version of versions) {
    await expect(rolledBack.commit("r", version, "c", bytes("stale"), 1, LEASE)).rejects.toBeInstanceOf(StaleVersionError);
  }
});
