/**
 * The same sequence of store operations against MemoryStore (the reference)
 * and RedisStore must give the same results and leave the same runs behind,
 * times aside (the two stores read different clocks), and so the versions a
 * handover gives (from the store's clock): the operations take the version
 * each store gave, and stale ones are named as such.
 */
import { MemoryStore, type Store } from "@parkway/core";
import { expect, it } from "vitest";
import type { RedisStore } from "../src/index.js";
import { payload, randomNamespace, useStore } from "./helpers.js";

const TIMES = new Set([
  "dueAt",
  "until",
  "timeoutAt",
  "createdAt",
  "updatedAt",
  "now",
  "nextDueAt",
  "at",
  "startedAt",
  "finishedAt",
  "retryAt",
]);
const LEASE = 60_000;
const ns = randomNamespace();
let store: RedisStore;

useStore(ns, (_redis, s) => {
  store = s;
});

/**
 * A version this large is a handover's or follows one: the store's clock in microseconds, which
 * the two stores read apart. Smaller ones (a run not yet handed over) count its writes.
 */
const HANDOVER_VERSIONS = 1e12;

/** Replaces times by whether they are set, versions after a handover by a mark, bytes by their text, maps by objects. */
function normalize(value: unknown, key = ""): unknown {
  if (TIMES.has(key)) return value === null ? null : typeof value === "number" ? "<time>" : value;
  if (typeof value === "number" && value >= HANDOVER_VERSIONS) return "<version>";
  // Error messages name versions.
  if (typeof value === "string") return value.replace(/\d{13,}/g, "<version>");
  if (value instanceof Uint8Array) return `bytes:${new TextDecoder().decode(value)}`;
  if (value instanceof Map) return normalize(Object.fromEntries(value));
  if (Array.isArray(value)) return value.map((v) => normalize(v));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, k === "cursor" && v !== null ? "<cursor>" : normalize(v, k)]));
  }
  return value;
}

/** Runs one fixed sequence of operations, logging every result or error. Ids sort in creation order. */
async function scenario(s: Store): Promise<unknown[]> {
  const log: unknown[] = [];
  let step = 0;
  const at = async <T>(what: string, op: Promise<T>): Promise<T | undefined> => {
    try {
      const result = await op;
      log.push([++step, what, normalize(result)]);
      return result;
    } catch (e) {
      const err = e as { code?: string; message?: string };
      log.push([++step, what, "throws", err.code, normalize(err.message)]);
      return undefined;
    }
  };
  const version = async (id: string) => (await s.get(id))?.header.version ?? -1;

  await at("start r1", s.start({ id: "r1", workflow: "order", hash: "h", input: payload("in-1") }));
  await at("start r1 again", s.start({ id: "r1", workflow: "other", hash: "x", input: payload("nope") }));
  await at("acquire r1", s.acquire("r1", LEASE));
  const held = await version("r1");
  await at("start attempt 1 of a", s.startAttempt("r1", held, "a", 1, LEASE));
  const failure = { key: "a", attempt: 1, error: { name: "TypeError", message: "boom", stack: "TypeError: boom\n  at a" }, agoMs: 0 };
  await at("start attempt 2 of a, after 1 failed", s.startAttempt("r1", held, "a", 2, LEASE, [{ ...failure, retryInMs: 5 }]));
  await at("commit a", s.commit("r1", held, "a", payload("A"), 2, LEASE));
  await at("re-send commit a", s.commit("r1", held, "a", payload("A"), 2, LEASE));
  await at("stale commit b", s.commit("r1", held, "b", payload("B"), 1, LEASE));
  await at("touch", s.touch("r1", held + 1, LEASE));
  const waits = [
    { kind: "timer", key: "cool", reason: "delay", delayMs: 3_600_000 },
    { kind: "signal", key: "ok", signal: "approved", timeoutMs: null },
  ] as const;
  await at("park r1", s.park("r1", held + 1, waits, { retry: 3 }));
  await at("acquire parked r1", s.acquire("r1", LEASE));
  await at("signal other name", s.signal("r1", "noise", payload("n")));
  await at("signal approved", s.signal("r1", "approved", payload("yes")));
  await at("acquire woken r1", s.acquire("r1", LEASE));
  await at("take approved", s.takeSignal("r1", await version("r1"), "ok", "approved", null, LEASE));
  await at("finish r1", s.finish("r1", await version("r1"), { status: "completed", result: payload("R1") }));
  await at("signal finished r1", s.signal("r1", "approved", payload("late")));
  await at("pause finished r1", s.pause("r1"));

  await at("start r2", s.start({ id: "r2", workflow: "order", hash: "h", input: payload("in-2") }));
  await at("acquire r2, lease 0", s.acquire("r2", 0));
  const fenced = await version("r2");
  await at("acquire r2 again", s.acquire("r2", LEASE));
  await at("stale touch r2", s.touch("r2", fenced, LEASE));
  await at("pause running r2", s.pause("r2"));
  await at("commit into pause", s.commit("r2", await version("r2"), "a", payload("kept"), 1, LEASE));
  await at("resume r2", s.resume("r2"));
  await at("acquire r2", s.acquire("r2", LEASE));
  await at("cancel running r2", s.cancel("r2"));
  await at("pause after cancel", s.pause("r2"));
  await at("park into cancel", s.park("r2", await version("r2"), waits, {}));

  await at("start r3", s.start({ id: "r3", workflow: "billing", hash: "h", input: payload("in-3") }));
  await at("pause pending r3", s.pause("r3"));
  await at("resume r3", s.resume("r3"));
  await at("acquire r3", s.acquire("r3", LEASE));
  await at("signal x 1", s.signal("r3", "x", payload("x1")));
  await at("signal x 2", s.signal("r3", "x", payload("x2")));
  await at("park on x", s.park("r3", await version("r3"), [{ kind: "signal", key: "w", signal: "x", timeoutMs: null }], {}));
  await at("take x", s.takeSignal("r3", await version("r3"), "w", "x", null, LEASE));
  await at("park on y, timeout 0", s.park("r3", await version("r3"), [{ kind: "signal", key: "y", signal: "y", timeoutMs: 0 }], {}));
  await at("acquire r3 timed out", s.acquire("r3", LEASE));
  await at("take y, no fallback", s.takeSignal("r3", await version("r3"), "y", "y", null, LEASE));
  await at("take y, fallback", s.takeSignal("r3", await version("r3"), "y", "y", payload("fb"), LEASE));
  await at(
    "block r3",
    s.block("r3", await version("r3"), { name: "DefinitionMismatchError", message: "?", code: "DEFINITION_MISMATCH" }, 60_000),
  );
  await at("park again on y keeps deadline", s.acquire("r3", LEASE));

  await at("start r4", s.start({ id: "r4", workflow: "order", hash: "h", input: payload("in-4") }));
  await at("acquire r4", s.acquire("r4", LEASE));
  await at("start attempt 1 of x", s.startAttempt("r4", await version("r4"), "x", 1, LEASE));
  const failed = [{ key: "x", attempt: 1, error: { name: "Error", message: "boom" }, agoMs: 0, retryInMs: null }];
  await at(
    "fail r4",
    s.finish("r4", await version("r4"), { status: "failed", error: { name: "Error", message: "boom", step: "x" } }, failed),
  );
  await at("start r5", s.start({ id: "r5", workflow: "order", hash: "h", input: payload("in-5") }));
  await at("cancel pending r5", s.cancel("r5"));
  await at("resume cancelled r5", s.resume("r5"));
  // A parent whose worker died with a cancel asked: the next acquire applies it and answers its links.
  await at("start r6", s.start({ id: "r6", workflow: "order", hash: "h", input: payload("in-6") }));
  await at("acquire r6, lease 0", s.acquire("r6", 0));
  await at("link r6's child", s.linkChild("r6", "kid", "r6/kid"));
  await at("link r6 as a child", s.linkParent("r6", { id: "r0", key: "sub" }));
  await at("cancel running r6", s.cancel("r6"));
  await at("acquire cancelled r6", s.acquire("r6", LEASE));
  await at("acquire r6 again", s.acquire("r6", LEASE));

  // A commit carrying the run on: the next step's attempt starts, or the run completes, in the same write.
  await at("start r7", s.start({ id: "r7", workflow: "order", hash: "h", input: payload("in-7") }));
  await at("acquire r7", s.acquire("r7", LEASE));
  const r7 = await version("r7");
  await at("start attempt 1 of a", s.startAttempt("r7", r7, "a", 1, LEASE));
  const thenB = { startAttempt: { key: "b", attempt: 1 } };
  await at("commit a, then attempt 1 of b", s.commit("r7", r7, "a", payload("A"), 1, LEASE, [], [], thenB));
  await at("re-send commit a, then b", s.commit("r7", r7, "a", payload("A"), 1, LEASE, [], [], thenB));
  const done = { complete: payload("R7") };
  await at("commit b, then complete", s.commit("r7", r7 + 1, "b", payload("B"), 1, LEASE, [], [], done));
  await at("re-send commit b, then complete", s.commit("r7", r7 + 1, "b", payload("B"), 1, LEASE, [], [], done));
  await at("start r8", s.start({ id: "r8", workflow: "order", hash: "h", input: payload("in-8") }));
  await at("acquire r8", s.acquire("r8", LEASE));
  await at("pause running r8", s.pause("r8"));
  await at("commit into pause, then attempt", s.commit("r8", await version("r8"), "a", payload("kept"), 1, LEASE, [], [], thenB));
  await at("resume r8", s.resume("r8"));
  await at("acquire r8 again", s.acquire("r8", LEASE));
  await at("cancel running r8", s.cancel("r8"));
  await at("commit into cancel, then complete", s.commit("r8", await version("r8"), "b", payload("dropped"), 1, LEASE, [], [], done));

  await at("unknown acquire", s.acquire("zz", LEASE));
  await at("unknown commit", s.commit("zz", 1, "a", payload(""), 1, LEASE));
  await at("unknown park", s.park("zz", 1, [], {}));

  // Runs in the statuses not yet seen, so that the lists below cross every status.
  await at("start s1", s.start({ id: "s1", workflow: "order", hash: "h", input: payload("in-s1") }));
  await at("start s2", s.start({ id: "s2", workflow: "billing", hash: "h", input: payload("in-s2") }));
  await at("pause pending s2", s.pause("s2"));
  await at(
    "start s3 in an hour",
    s.start({ id: "s3", workflow: "order", hash: "h", input: payload("in-s3"), notBefore: { delayMs: 3_600_000 } }),
  );
  for (const order of ["newest", "oldest"] as const) {
    for (const query of [{}, { workflow: "order" }]) {
      let cursor: string | null | undefined;
      for (let n = 1; cursor !== null && n < 20; n++) {
        const page = await at(
          `list ${JSON.stringify(query)} ${order}, page ${n}`,
          s.list({ ...query, order, limit: 3, ...(cursor ? { cursor } : {}) }),
        );
        cursor = page?.cursor ?? null;
      }
    }
  }
  const page1 = await at("list order, 2", s.list({ workflow: "order", limit: 2 }));
  await at("list order, page 2", s.list({ workflow: "order", limit: 2, ...(page1?.cursor ? { cursor: page1.cursor } : {}) }));
  await at("list cancelled", s.list({ status: "cancelled" }));
  await at("list parked billing", s.list({ status: "parked", workflow: "billing" }));
  await at("list all", s.list({}));
  const due = await s.due(100);
  log.push(["due", [...due.ids].sort(), due.nextDueAt === null ? null : "<time>"]);
  const ids = ["r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8"];
  for (const id of ids) await at(`get ${id}`, s.get(id, { outputs: true }));
  for (const id of [...ids, "zz"]) await at(`history of ${id}`, s.history(id));
  for (const id of [...ids, "zz"]) await at(`attempt records of ${id}`, s.attemptRecords(id));
  return log;
}

it("the Redis store gives the memory store's results, operation by operation", async () => {
  const memory = await scenario(new MemoryStore());
  const onRedis = await scenario(store);
  for (let i = 0; i < Math.max(memory.length, onRedis.length); i++) expect(onRedis[i]).toEqual(memory[i]);
  // The commits that carry a run on were made with the versions its handover gave, not stale ones: r7 completed.
  const r7 = memory.find((entry) => Array.isArray(entry) && entry[1] === "get r7") as [number, string, { header: { status: string } }];
  expect(r7[2].header.status).toBe("completed");
});
