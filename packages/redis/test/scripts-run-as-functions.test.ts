/**
 * On Redis 7 every script is a function of one library, named after its digest and loaded once
 * (however many calls find it missing at once), again after FUNCTION FLUSH. A Redis without
 * functions, or one whose user may not load them, runs the same scripts by EVALSHA. Each case
 * runs on a private redis-server, so the counts are this test's alone.
 */
import { Redis } from "ioredis";
import { afterEach, expect, it } from "vitest";
import { LUA_LIBRARY } from "../src/generated/lua.js";
import type { RedisStore } from "../src/index.js";
import { payload, storeOn } from "./helpers.js";
import { PrivateRedis } from "./private-redis.js";

const LEASE = 60_000;
let server: PrivateRedis | undefined;
const open: { close(): Promise<void> | void }[] = [];

afterEach(async () => {
  for (const one of open.splice(0)) await one.close();
  await server?.stop();
  server = undefined;
});

async function privateRedis(args: readonly string[] = []): Promise<Redis> {
  server = await PrivateRedis.onFreePort(args);
  await server.start();
  const redis = new Redis(server.url);
  open.push({ close: () => redis.disconnect() });
  return redis;
}

function storeAt(redis: Redis): RedisStore {
  const store = storeOn(redis, "fn");
  open.push(store);
  return store;
}

/** A run from start to completion through every hot script; returns its final status. */
async function runOnce(store: RedisStore, id: string): Promise<string | undefined> {
  await store.start({ id, workflow: "wf", hash: "h", input: payload("in") });
  const got = await store.acquire(id, LEASE);
  if (!got.acquired) throw new Error("not acquired");
  await store.startAttempt(id, got.run.header.version, "a", 1, LEASE);
  await store.commit(id, got.run.header.version, "a", payload("out"), 1, LEASE, [], [], { complete: payload("done") });
  return (await store.get(id))?.header.status;
}

/** Calls per command, from INFO commandstats (`function|load` for FUNCTION LOAD). */
async function calls(redis: Redis): Promise<Record<string, number>> {
  const info = await redis.info("commandstats");
  return Object.fromEntries([...info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)].map((m) => [m[1]!, Number(m[2])]));
}

interface LibraryInfo {
  readonly name: string;
  readonly functions: readonly { readonly name: string; readonly flags: readonly string[] }[];
}

/** FUNCTION LIST, as names and flags. */
async function libraries(redis: Redis): Promise<LibraryInfo[]> {
  const pairs = (flat: unknown[]): Record<string, unknown> =>
    Object.fromEntries(Array.from({ length: flat.length / 2 }, (_, i) => [String(flat[2 * i]), flat[2 * i + 1]]));
  const list = (await redis.call("FUNCTION", "LIST")) as unknown[][];
  return list.map((entry) => {
    const library = pairs(entry);
    return {
      name: library.library_name as string,
      functions: (library.functions as unknown[][]).map((fn) => {
        const f = pairs(fn);
        return { name: f.name as string, flags: f.flags as string[] };
      }),
    };
  });
}

it("every script is a function of one library named after its digest, loaded once however many calls miss it", async () => {
  const redis = await privateRedis();
  const store = storeAt(redis);
  const ids = Array.from({ length: 20 }, (_, i) => `r${i}`);
  expect(await Promise.all(ids.map((id) => runOnce(store, id)))).toEqual(ids.map(() => "completed"));
  const [library, ...others] = await libraries(redis);
  expect(others).toEqual([]);
  expect(library?.name).toBe(LUA_LIBRARY.name);
  expect(library?.name).toMatch(/^parkway_[0-9a-f]{12}$/);
  expect(library?.functions.map((f) => f.name).sort()).toEqual(Object.values(LUA_LIBRARY.functions).sort());
  // A function that only reads says so (Redis then runs it on a full server too, and on a replica).
  const flags = Object.fromEntries(library!.functions.map((f) => [f.name, [...f.flags].sort()]));
  expect(flags[LUA_LIBRARY.functions["getRun-2.lua"]!]).toEqual(["allow-cross-slot-keys", "no-writes"]);
  expect(flags[LUA_LIBRARY.functions["commitStep-3.lua"]!]).toEqual(["allow-cross-slot-keys"]);
  const counted = await calls(redis);
  expect(counted["function|load"]).toBe(1);
  expect(counted.fcall).toBeGreaterThan(0);
  expect(counted.evalsha ?? 0).toBe(0);
});

it("scripts survive FUNCTION FLUSH between two operations", async () => {
  const redis = await privateRedis();
  const store = storeAt(redis);
  await store.start({ id: "flushed", workflow: "wf", hash: "h", input: payload("in") });
  await redis.call("FUNCTION", "FLUSH");
  expect((await store.acquire("flushed", LEASE)).acquired).toBe(true);
  await redis.call("FUNCTION", "FLUSH");
  expect((await store.get("flushed"))?.header.status).toBe("running");
  expect((await calls(redis))["function|load"]).toBe(3);
});

it("a Redis without functions runs the scripts by EVALSHA", async () => {
  const redis = await privateRedis(["--rename-command", "FCALL", ""]);
  const store = storeAt(redis);
  expect(await runOnce(store, "old-redis")).toBe("completed");
  expect(await libraries(redis)).toEqual([]);
  const counted = await calls(redis);
  expect(counted.evalsha).toBeGreaterThan(0);
  expect(counted["function|load"] ?? 0).toBe(0);
});

it("a user that may not load functions, or call them, runs the scripts by EVALSHA", async () => {
  const admin = await privateRedis();
  for (const denied of ["-function", "-fcall"]) {
    await admin.call("ACL", "SETUSER", `app${denied}`, "on", ">secret", "~*", "&*", "+@all", denied);
    const redis = new Redis(server!.url, { username: `app${denied}`, password: "secret" });
    open.push({ close: () => redis.disconnect() });
    const store = storeAt(redis);
    expect(await runOnce(store, `denied${denied}`)).toBe("completed");
  }
  const counted = await calls(admin);
  expect(counted.evalsha).toBeGreaterThan(0);
  expect(counted["function|load"] ?? 0).toBe(0);
});

it("an error a running function raises is the caller's: the script is not run again by EVALSHA", async () => {
  const admin = await privateRedis();
  // May run functions, but touch only keys of namespace "fn"'s first partition... and not its history.
  await admin.call(
    "ACL",
    "SETUSER",
    "narrow",
    "on",
    ">secret",
    "~{fn}:run:*",
    "~{fn}:out:*",
    "~{fn}:meta",
    "~{fn}:all",
    "~{fn}:due",
    "&*",
    "+@all",
  );
  const redis = new Redis(server!.url, { username: "narrow", password: "secret" });
  open.push({ close: () => redis.disconnect() });
  const store = storeAt(redis);
  await expect(store.start({ id: "narrow", workflow: "wf", hash: "h", input: payload("in") })).rejects.toThrow(/NOPERM/);
  const counted = await calls(admin);
  expect(counted.fcall).toBeGreaterThan(0);
  expect(counted.evalsha ?? 0).toBe(0);
});
