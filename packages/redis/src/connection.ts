/**
 * Connections as BullMQ takes them: a Redis URL, ioredis options
 * (`{ host, port, ... }`), an ioredis `Redis`, or an ioredis `Cluster`.
 *
 * Ownership: a connection Parkway opens (from a URL or options, or as a
 * duplicate of yours) is Parkway's, and `close()` closes it. A `Redis` or
 * `Cluster` you pass is shared: Parkway never closes it, you do, after
 * closing what uses it.
 *
 * A Cluster works because every key of a partition of a namespace (runs,
 * indexes, signal buffers, its BullMQ queue) carries the partition's hash tag
 * (`{namespace}` or `{namespace:p}`): one partition lives in one slot, so
 * every script and MULTI stays on one node.
 *
 * A string may also list a Redis Cluster's nodes, comma-separated
 * (`redis://10.0.0.1:7000,redis://10.0.0.2:7000`): Parkway opens an ioredis
 * `Cluster` on them (and closes it). This is what the command line's
 * `--redis` takes; one node of a Cluster is enough when it is written as a
 * list of one (`redis://10.0.0.1:7000,`).
 */
import { ValidationError } from "@parkway/core";
import { Cluster, Redis, type RedisOptions } from "ioredis";

/** A live ioredis client: one server, or a Redis Cluster. */
export type RedisConnection = Redis | Cluster;

/** How a connection is given: a URL, ioredis options, or an ioredis `Redis` or `Cluster` to share. */
export type ConnectionOptions = string | RedisOptions | Redis | Cluster;

/** A Redis Cluster's startup node, and the options its URL gave (password, TLS). */
interface ClusterSeeds {
  readonly nodes: { host: string; port: number }[];
  readonly redisOptions: RedisOptions;
}

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
    const seeds = clusterSeeds(given, what);
    if (seeds) {
      const { retryStrategy: _, ...perNode } = mine;
      return {
        redis: new Cluster(seeds.nodes, {
          clusterRetryStrategy: reconnectDelay,
          redisOptions: { ...perNode, ...seeds.redisOptions, ...overrides },
        }),
        owned: true,
      };
    }
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
  if (typeof given === "string") {
    clusterSeeds(given, what);
    return;
  }
  if (isRedisConnection(given) || isPlainObject(given)) return;
  throw new ValidationError(
    `${what}: connection must be a Redis URL, ioredis options ({ host, port, ... }), an ioredis Redis or an ioredis Cluster; got ${describeValue(given)}`,
    { connection: describeValue(given) },
  );
}

/**
 * The nodes of a comma-separated list of Redis URLs (a Cluster's startup nodes), or null for a
 * string without a comma (one Redis URL). The first URL with a user or password gives them for
 * every node; `rediss:` turns on TLS.
 * @throws ValidationError naming the entry that is not a `redis:` or `rediss:` URL with a host
 */
export function clusterSeeds(text: string, what: string): ClusterSeeds | null {
  if (!text.includes(",")) return null;
  const entries = text.split(",").map((entry) => entry.trim());
  // A trailing comma marks a list of one node.
  if (entries[entries.length - 1] === "") entries.pop();
  const urls = entries.map((entry) => {
    let url: URL | null = null;
    try {
      url = new URL(entry);
    } catch {
      // refused below
    }
    if (!url || (url.protocol !== "redis:" && url.protocol !== "rediss:") || url.hostname === "") {
      throw new ValidationError(
        `${what}: ${JSON.stringify(redactUrl(entry))} in the list of Redis Cluster nodes is not a Redis URL (redis://host:port)`,
        { connection: redactUrl(text) },
      );
    }
    return url;
  });
  const auth = urls.find((url) => url.username !== "" || url.password !== "");
  const redisOptions: RedisOptions = {
    ...(auth?.username ? { username: decodeURIComponent(auth.username) } : {}),
    ...(auth?.password ? { password: decodeURIComponent(auth.password) } : {}),
    ...(urls.some((url) => url.protocol === "rediss:") ? { tls: {} } : {}),
  };
  return { nodes: urls.map((url) => ({ host: url.hostname, port: url.port === "" ? 6379 : Number(url.port) })), redisOptions };
}

/** A URL (or list of URLs) without passwords, for messages. */
export function redactUrl(text: string): string {
  return text.replace(/\/\/([^:/@,]*):[^@/,]*@/g, "//$1:***@");
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
    const masters = redis.nodes("master").map((node) => `${node.options.host ?? "127.0.0.1"}:${node.options.port ?? 6379}`);
    // Before any node answered, the nodes it was given: a Cluster that cannot be reached is named by them.
    const startupNodes = (redis as unknown as { startupNodes: (string | number | { host?: string; port?: number })[] }).startupNodes;
    const seeds = startupNodes.map((node) =>
      typeof node === "string" ? node : typeof node === "number" ? `127.0.0.1:${node}` : `${node.host ?? "127.0.0.1"}:${node.port ?? 6379}`,
    );
    return `the Redis Cluster ${(masters.length > 0 ? masters : seeds).join(",")}`;
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
