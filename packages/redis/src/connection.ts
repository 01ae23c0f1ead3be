/**
 * Connections as BullMQ takes them: a Redis URL, ioredis options
 * (`{ host, port, ... }`), an ioredis `Redis`, or an ioredis `Cluster`.
 *
 * Ownership: a connection Parkway opens (from a URL or options, or as a
 * duplicate of yours) is Parkway's, and `close()` closes it. A `Redis` or
 * `Cluster` you pass is shared: Parkway never closes it, you do, after
 * closing what uses it.
 *
 * A Cluster works because every key of a namespace (runs, indexes, signal
 * buffers, its BullMQ queue) carries the hash tag `{namespace}`: one
 * namespace lives in one slot, so every script and MULTI stays on one node.
 */
import { ValidationError } from "@parkway/core";
import { Cluster, Redis, type RedisOptions } from "ioredis";

/** A live ioredis client: one server, or a Redis Cluster. */
export type RedisConnection = Redis | Cluster;

/** How a connection is given: a URL, ioredis options, or an ioredis `Redis` or `Cluster` to share. */
export type ConnectionOptions = string | RedisOptions | Redis | Cluster;

/** A connection in hand, and whether closing it is ours to do. */
export interface OpenedConnection {
  readonly redis: RedisConnection;
  /** True when Parkway opened it (and must close it); false for a connection the caller shares. */
  readonly owned: boolean;
}

/**
 * Reconnection backoff of the connections Parkway opens: 1s, 2s, 4s, then every 10s, forever.
 * ioredis's default (50ms more each try) would retry (and report) dozens of times a minute.
 */
export function reconnectDelay(attempt: number): number {
  return Math.min(1000 * 2 ** Math.max(0, attempt - 1), 10_000);
}

/** True for an ioredis client (from any installed copy of ioredis: checked by shape, as BullMQ does). */
export function isRedisConnection(value: unknown): value is RedisConnection {
  const v = value as Record<string, unknown> | null;
  return typeof v === "object" && v !== null && ["duplicate", "connect", "disconnect", "quit"].every((m) => typeof v[m] === "function");
}

/** True for an ioredis `Cluster`. */
export function isCluster(value: RedisConnection): value is Cluster {
  return (value as { isCluster?: unknown }).isCluster === true;
}

/**
 * Opens (or takes) the connection `given` describes. `overrides` (such as BullMQ's
 * `maxRetriesPerRequest: null`) apply to a connection opened here; a shared client that
 * needs them is duplicated with them, and the duplicate is ours.
 * @throws ValidationError naming what was given when it is none of the four forms
 */
export function openConnection(given: unknown, what: string, overrides: RedisOptions = {}): OpenedConnection {
  // A command waits through 3 reconnection attempts (about 7s) before it fails, close to ioredis'
  // default of 20 quick ones; options given by the caller win over these defaults.
  const mine: RedisOptions = { retryStrategy: reconnectDelay, maxRetriesPerRequest: 3, ...overrides };
  if (typeof given === "string") {
    if (given.trim() === "")
      throw new ValidationError(`${what}: connection is an empty string (give a Redis URL such as redis://127.0.0.1:6379)`);
    return { redis: new Redis(given, mine), owned: true };
  }
  if (isRedisConnection(given)) {
    return Object.keys(overrides).length === 0
      ? { redis: given, owned: false }
      : { redis: duplicateConnection(given, overrides), owned: true };
  }
  checkConnection(given, what);
  return { redis: new Redis({ ...mine, ...(given as RedisOptions), ...overrides }), owned: true };
}

/** @throws ValidationError naming `what` and what was given, unless `given` is one of the four forms of a connection */
export function checkConnection(given: unknown, what: string): asserts given is ConnectionOptions {
  if (typeof given === "string" || isRedisConnection(given) || isPlainObject(given)) return;
  throw new ValidationError(
    `${what}: connection must be a Redis URL, ioredis options ({ host, port, ... }), an ioredis Redis or an ioredis Cluster; got ${describeValue(given)}`,
    { connection: describeValue(given) },
  );
}

/** A new connection like `redis` (same servers, same options, plus `overrides`); the caller owns it. */
export function duplicateConnection(redis: RedisConnection, overrides: RedisOptions = {}): RedisConnection {
  if (isCluster(redis)) {
    // Cluster.duplicate replaces redisOptions wholesale: merge them, or the node options are lost.
    return redis.duplicate(undefined, { redisOptions: { ...redis.options.redisOptions, ...overrides } });
  }
  return redis.duplicate(overrides);
}

/** Closes a connection Parkway owns: QUIT, or a hard disconnect when QUIT cannot be sent. */
export async function closeConnection(redis: RedisConnection): Promise<void> {
  await redis.quit().catch(() => redis.disconnect());
}

/** Where a connection goes, for messages: `host:port`, a socket path, or a Cluster's startup nodes. Never a password. */
export function connectionAddress(redis: RedisConnection): string {
  if (isCluster(redis)) {
    const nodes = redis.nodes("master").map((node) => `${node.options.host ?? "127.0.0.1"}:${node.options.port ?? 6379}`);
    return `the Redis Cluster ${nodes.join(",") || "(no node reached yet)"}`;
  }
  const { host, port, path } = redis.options;
  return path ? path : `${host ?? "127.0.0.1"}:${port ?? 6379}`;
}

function isPlainObject(value: unknown): value is RedisOptions {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object")
    return `an instance of ${(value.constructor as { name?: string } | undefined)?.name ?? "an unknown class"}`;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return `${typeof value} ${value}`;
  return typeof value === "string" ? JSON.stringify(value) : `a ${typeof value}`;
}
