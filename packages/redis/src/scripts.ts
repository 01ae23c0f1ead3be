/**
 * The one loader of Parkway's Lua scripts. Each atomic operation is a file in
 * `lua/` named `<operation>-<number of keys>.lua`; `-- @include "name"` lines
 * splice in `lua/includes/<name>.lua` (each once per script). The build
 * (`scripts/generate-lua.mjs`) resolves the includes and writes every script
 * into `src/generated/lua.ts`, so the scripts travel inside the JavaScript and
 * a bundled worker needs no file beside it.
 *
 * On Redis 7 and later every script is a function of one library (LUA_LIBRARY,
 * named after its digest), called with FCALL: Redis creates the scripts' shared
 * definitions once, when it loads the library, where EVALSHA creates them on
 * every call (a third of what a commit cost Redis). A Redis that does not know
 * the function (a first call, FUNCTION FLUSH, a restart without persistence)
 * gets the library and the call is sent again. A Redis without functions (before
 * 7), or one that refuses FUNCTION LOAD, runs the scripts by EVALSHA, falling
 * back to EVAL on NOSCRIPT; either way they survive a flush, a restart and a
 * failover to a replica that never saw them.
 */
import { createHash } from "node:crypto";
import { isCluster, type RedisConnection } from "./connection.js";
import { LUA_LIBRARY, LUA_SOURCES } from "./generated/lua.js";

/** A script ready to run. */
export interface Script {
  readonly name: string;
  /** The keys the script declares; scripts with a `KEYS[n..]` tail accept more. */
  readonly keys: number;
  readonly source: string;
  readonly sha: string;
  /** Its function in {@link LUA_LIBRARY}. */
  readonly fn: string;
}

/** `lua/<file>` with its includes resolved, as the build generated it. */
export function loadScript(file: string): Script {
  const match = /^(\w+)-(\d+)\.lua$/.exec(file);
  if (!match?.[1] || !match[2]) throw new Error(`script file "${file}" is not named <operation>-<keys>.lua`);
  const source = LUA_SOURCES[file];
  if (source === undefined) throw new Error(`script file "lua/${file}" was not generated: run the package's build`);
  const fn = LUA_LIBRARY.functions[file];
  if (fn === undefined) throw new Error(`script file "lua/${file}" has no function in the generated library: run the package's build`);
  return { name: match[1], keys: Number(match[2]), source, sha: createHash("sha1").update(source).digest("hex"), fn };
}

/** Every script of the store, by operation. */
export const SCRIPTS = {
  startRun: loadScript("startRun-4.lua"),
  acquireRun: loadScript("acquireRun-3.lua"),
  touchRun: loadScript("touchRun-2.lua"),
  heartbeatRun: loadScript("heartbeatRun-3.lua"),
  commitStep: loadScript("commitStep-3.lua"),
  takeSignal: loadScript("takeSignal-4.lua"),
  parkRun: loadScript("parkRun-2.lua"),
  finishRun: loadScript("finishRun-3.lua"),
  blockRun: loadScript("blockRun-2.lua"),
  signalRun: loadScript("signalRun-4.lua"),
  signalWithStart: loadScript("signalWithStart-3.lua"),
  signalBuffers: loadScript("signalBuffers-1.lua"),
  cancelRun: loadScript("cancelRun-2.lua"),
  pauseRun: loadScript("pauseRun-2.lua"),
  resumeRun: loadScript("resumeRun-2.lua"),
  getRun: loadScript("getRun-2.lua"),
  getAttemptRecords: loadScript("getAttemptRecords-2.lua"),
  listRuns: loadScript("listRuns-1.lua"),
  dueRuns: loadScript("dueRuns-1.lua"),
  promoteTimers: loadScript("promoteTimers-2.lua"),
  startAttempt: loadScript("startAttempt-2.lua"),
  restartRun: loadScript("restartRun-3.lua"),
  retryRun: loadScript("retryRun-3.lua"),
  rewindRun: loadScript("rewindRun-3.lua"),
  migrateRun: loadScript("migrateRun-3.lua"),
  deleteRun: loadScript("deleteRun-1.lua"),
  purgeRuns: loadScript("purgeRuns-1.lua"),
  trimExpired: loadScript("trimExpired-1.lua"),
  namespaceMeta: loadScript("namespaceMeta-2.lua"),
  admitSlot: loadScript("admitSlot-3.lua"),
  releaseSlot: loadScript("releaseSlot-3.lua"),
  renewSlot: loadScript("renewSlot-1.lua"),
  wakeSlotWaiter: loadScript("wakeSlotWaiter-2.lua"),
  putSchedule: loadScript("putSchedule-3.lua"),
  getSchedule: loadScript("getSchedule-1.lua"),
  listSchedules: loadScript("listSchedules-1.lua"),
  deleteSchedule: loadScript("deleteSchedule-3.lua"),
  registerWorker: loadScript("registerWorker-2.lua"),
  listWorkers: loadScript("listWorkers-1.lua"),
  linkRun: loadScript("linkRun-1.lua"),
} as const;

/** A script argument: strings, numbers, or payload bytes sent as they are. */
export type ScriptArg = string | number | Uint8Array;

function toWire(arg: ScriptArg): string | number | Buffer {
  if (typeof arg === "string" || typeof arg === "number") return arg;
  return Buffer.isBuffer(arg) ? arg : Buffer.from(arg.buffer, arg.byteOffset, arg.byteLength);
}

function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason));
}

/** Connections whose Redis runs no functions (before 7, or FUNCTION LOAD refused): they use EVALSHA. */
const evalOnly = new WeakSet<RedisConnection>();
/** The library load under way on a connection, so the calls that found no function wait for one load. */
const loading = new WeakMap<RedisConnection, Promise<void>>();

/**
 * An error that says Redis has no functions, or that this user may not load or call them: scripts go
 * by EVALSHA instead. Only the refusal of the command itself counts: an error a running function
 * raised (a key this user may not touch) is the caller's, and running the script again would repeat
 * the writes it made before it.
 */
function withoutFunctions(error: unknown): boolean {
  return error instanceof Error && /^ERR unknown command|^NOPERM .*'(fcall|function\|load)' command/i.test(error.message);
}

/**
 * Loads the library on the connection's Redis (every master of a Cluster: a master that cannot be
 * reached now does not hold up the others, and the call sent again tells whether its own node has
 * it); false when Redis runs no functions or will not load them.
 */
async function loadLibrary(redis: RedisConnection): Promise<boolean> {
  let load = loading.get(redis);
  if (load === undefined) {
    const nodes = isCluster(redis) ? redis.nodes("master") : [redis];
    load = Promise.allSettled(nodes.map((node) => node.function("LOAD", "REPLACE", LUA_LIBRARY.code))).then((results) => {
      const failures = results.flatMap((result) => (result.status === "rejected" ? [asError(result.reason)] : []));
      const refusal = failures.find(withoutFunctions);
      if (refusal !== undefined) throw refusal;
      if (failures.length > 0 && failures.length === results.length) throw failures[0]!;
    });
    loading.set(redis, load);
    void load.finally(() => loading.delete(redis)).catch(() => {});
  }
  try {
    await load;
    return true;
  } catch (error) {
    if (!withoutFunctions(error)) throw error;
    evalOnly.add(redis);
    return false;
  }
}

/**
 * The script commands answering with bulk strings as Buffers. ioredis has a `...Buffer` twin of
 * every command, but declares none for these, whose replies it leaves untyped.
 */
interface BufferScriptCommands {
  fcallBuffer(fn: string, ...args: (string | number | Buffer)[]): Promise<unknown>;
  evalshaBuffer(sha: string, ...args: (string | number | Buffer)[]): Promise<unknown>;
  evalBuffer(source: string, ...args: (string | number | Buffer)[]): Promise<unknown>;
}

/**
 * Runs `script`: its function with FCALL, loading the library when Redis does not know it, or, where
 * Redis runs no functions, with EVALSHA, loading it with EVAL when Redis does not know it. Replies
 * come back with bulk strings as Buffers, so payload bytes stay exact. Sent by the commands' own
 * methods, never the generic `call`: on a connection that auto-pipelines, ioredis hands `call`'s
 * arguments to its pipeline without the command name, and Redis is sent the function name as one.
 */
export async function runScript(
  redis: RedisConnection,
  script: Script,
  keys: readonly string[],
  args: readonly ScriptArg[],
): Promise<unknown> {
  if (keys.length < script.keys) throw new Error(`script ${script.name} takes ${script.keys} keys, got ${keys.length}`);
  const tail = [keys.length, ...keys, ...args.map(toWire)];
  const commands = redis as RedisConnection & BufferScriptCommands;
  if (!evalOnly.has(redis)) {
    try {
      return await commands.fcallBuffer(script.fn, ...tail);
    } catch (error) {
      if (withoutFunctions(error)) evalOnly.add(redis);
      else if (!(error instanceof Error && error.message.includes("Function not found"))) throw error;
      else if (await loadLibrary(redis)) return await commands.fcallBuffer(script.fn, ...tail);
    }
  }
  try {
    return await commands.evalshaBuffer(script.sha, ...tail);
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) throw error;
    return await commands.evalBuffer(script.source, ...tail);
  }
}
