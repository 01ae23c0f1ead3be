/**
 * What a scenario cost Redis, read from `INFO` before and after: CPU time of
 * the server (`INFO cpu`: used_cpu_user + used_cpu_sys), commands executed
 * (`INFO commandstats`) and memory in use (`INFO memory`); on a Redis Cluster,
 * summed over its masters. All are server-wide, so the harness's own probes
 * are left out, and anything else using the same Redis at the same time shows
 * up in the numbers (`--redis local` and `--redis-cluster local:N` give the
 * bench servers of its own).
 */
import type { Redis } from "ioredis";
import { isCluster, type RedisConnection } from "@parkway/redis";
import { now } from "./events.js";

/** Calls per command name, as `INFO commandstats` counts them. */
export type CommandCounts = Readonly<Record<string, number>>;

/** One reading of the server (of every master, summed, on a Cluster). */
export interface RedisReading {
  /** CPU time the server has used, in µs (every thread, user and system). */
  readonly cpuUs: number;
  /** The same, per master (`host:port`): one entry on a single server. */
  readonly cpuUsByNode: Readonly<Record<string, number>>;
  readonly commands: CommandCounts;
  readonly usedMemory: number;
  /** When it was read, in {@link now}'s milliseconds. */
  readonly at: number;
}

/** Commands the harness itself sends to watch a scenario; not part of what the engine cost. */
const HARNESS_COMMANDS = new Set(["info", "zcard", "scan", "unlink", "ping", "select", "client|setname", "client|setinfo", "hello"]);

/** The servers that hold data: the one server, or a Cluster's masters. */
export async function serversOf(redis: RedisConnection): Promise<Redis[]> {
  if (!isCluster(redis)) return [redis];
  // The Cluster knows its masters once it is ready, which its first command waits for.
  await redis.ping();
  return redis.nodes("master");
}

/** Reads command counts, CPU and memory. */
export async function readRedis(redis: RedisConnection): Promise<RedisReading> {
  const nodes = await Promise.all((await serversOf(redis)).map(readServer));
  const commands: Record<string, number> = {};
  for (const node of nodes) for (const [name, calls] of Object.entries(node.commands)) commands[name] = (commands[name] ?? 0) + calls;
  return {
    cpuUs: nodes.reduce((sum, node) => sum + node.cpuUs, 0),
    cpuUsByNode: Object.fromEntries(nodes.map((node) => [node.address, node.cpuUs])),
    commands,
    usedMemory: nodes.reduce((sum, node) => sum + node.usedMemory, 0),
    at: now(),
  };
}

async function readServer(redis: Redis) {
  const [stats, memory, cpu] = await Promise.all([redis.info("commandstats"), redis.info("memory"), redis.info("cpu")]);
  const commands: Record<string, number> = {};
  for (const match of stats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) commands[match[1]!] = Number(match[2]);
  const used = /^used_memory:(\d+)/m.exec(memory);
  const seconds = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, "m").exec(cpu)?.[1] ?? 0);
  return {
    address: `${redis.options.host ?? "?"}:${redis.options.port ?? "?"}`,
    cpuUs: (seconds("used_cpu_user") + seconds("used_cpu_sys")) * 1e6,
    commands,
    usedMemory: used ? Number(used[1]) : 0,
  };
}

/** What a scenario cost between two readings. */
export interface RedisCost {
  /** Server CPU time in µs, the harness's own reads included (a few INFO calls: tens of µs). */
  readonly cpuUs: number;
  /** The CPU µs of the busiest master (of the one server, off a Cluster). */
  readonly busiestNodeCpuUs: number;
  /** Milliseconds between the readings. */
  readonly ms: number;
  /** Commands executed, by name, without the harness's own. Includes commands run inside Lua scripts. */
  readonly commands: CommandCounts;
  readonly totalCommands: number;
  /** FCALL/EVALSHA/EVAL calls: each is one round trip that runs a whole script. */
  readonly scripts: number;
  /**
   * Client calls: commands clients sent, leaving out those scripts ran
   * inside. A script counts once, a MULTI block once plus its scripts.
   * Estimated from the counts: see `roundTrips()`.
   */
  readonly roundTrips: number;
}

/** The commands that run a whole script (or function) in one call. */
const SCRIPT_CALLS = ["evalsha", "eval", "evalsha_ro", "eval_ro", "fcall", "fcall_ro"];

/** The commands between two readings. */
export function costBetween(before: RedisReading, after: RedisReading): RedisCost {
  const commands: Record<string, number> = {};
  for (const [name, calls] of Object.entries(after.commands)) {
    const delta = calls - (before.commands[name] ?? 0);
    if (delta > 0 && !HARNESS_COMMANDS.has(name)) commands[name] = delta;
  }
  const totalCommands = Object.values(commands).reduce((a, b) => a + b, 0);
  const scripts = SCRIPT_CALLS.reduce((sum, name) => sum + (commands[name] ?? 0), 0);
  const byNode = Object.entries(after.cpuUsByNode).map(([node, us]) => us - (before.cpuUsByNode[node] ?? 0));
  return {
    cpuUs: after.cpuUs - before.cpuUs,
    busiestNodeCpuUs: Math.max(0, ...byNode),
    ms: after.at - before.at,
    commands,
    totalCommands,
    scripts,
    roundTrips: roundTrips(commands),
  };
}

/**
 * `INFO commandstats` counts the commands a Lua script runs as well as the
 * EVALSHA that ran it, so the total overstates round trips. The commands
 * below are the ones clients send themselves (scripts, blocking pops,
 * transactions, pub/sub, connection set-up); everything else Parkway and
 * BullMQ send runs inside a script, except the pipelined SADD/PEXPIRE of a
 * MULTI block, which MULTI already counts.
 */
const CLIENT_ONLY = [
  ...SCRIPT_CALLS,
  "multi",
  "bzpopmin",
  "bzpopmax",
  "brpoplpush",
  "blmove",
  "subscribe",
  "unsubscribe",
  "psubscribe",
  "script|load",
  "client|list",
  "config|get",
  "quit",
];

function roundTrips(commands: CommandCounts): number {
  return CLIENT_ONLY.reduce((sum, name) => sum + (commands[name] ?? 0), 0);
}
