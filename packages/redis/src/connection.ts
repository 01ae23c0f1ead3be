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
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from "ioredis";

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

/**
 * An ioredis `Redis` whose `disconnect()` ends it in every state: every standalone connection
 * Parkway opens is one, and so is each duplicate of one (BullMQ's blocking connection is a
 * duplicate of the worker's). ioredis's own `disconnect()`, called between a lost connection and
 * its next attempt (status "reconnecting"), only cancels that attempt: the connection never
 * reaches "end", never emits it, and the commands queued for the reconnection wait forever
 * (redis/ioredis#1247). BullMQ's `Worker.close()` disconnects its blocking connection and waits
 * for that "end": a worker closed in that window (a connection dropped less than a reconnection
 * delay earlier) never finished closing.
 */
class EndingRedis extends Redis {
  override disconnect(reconnect = false): void {
    const stranded = !reconnect && this.status === "reconnecting";
    super.disconnect(reconnect);
    if (!stranded) return;
    // A connection attempt cut short ends the connection: ioredis then rejects the queued commands
    // ("Connection is closed") and emits "end". Its error is not reported: the close is on purpose.
    this.connect().catch(() => undefined);
    super.disconnect();
  }

  override duplicate(override?: Partial<RedisOptions>): Redis {
    return new EndingRedis({ ...this.options, ...override });
  }
}

/** How often, and how many times, a Cluster's `connect()` looks whether the cluster became ready before it gives up. */
export const CLUSTER_READY_LOOKS = { everyMs: 500, times: 24 } as const;

/**
 * An ioredis `Cluster` whose `connect()` settles: it resolves once the cluster is ready, and
 * rejects once it ends or is still not ready after `CLUSTER_READY_LOOKS` (12s), naming its nodes.
 * ioredis's own loses its promise when an attempt's ready check finds the cluster failing (a
 * master down, no replica promoted yet): it reconnects on its own and becomes ready, and the
 * promise never settles (redis/ioredis#741). BullMQ awaits it to recover a Cluster its blocking
 * worker connection found without nodes, so a worker reconnecting during a failover would wait
 * out BullMQ's own cap (30s) before it took a job again. Every Cluster Parkway opens is one, and
 * so is each duplicate of one (BullMQ's blocking connections are duplicates).
 */
export class SettlingCluster extends Cluster {
  override connect(): Promise<void> {
    const attempt = super.connect();
    return new Promise<void>((resolve, reject) => {
      let looks = 0;
      let timer: NodeJS.Timeout | undefined;
      const settle = (error?: Error) => {
        clearTimeout(timer);
        this.off("ready", onReady);
        this.off("end", onEnd);
        if (error) reject(error);
        else resolve();
      };
      // ioredis emits a status on the next tick: an "end" of the disconnect before this connect() comes after it.
      const onReady = () => (this.status === "ready" ? settle() : undefined);
      const onEnd = () =>
        this.status === "end"
          ? settle(new Error(`the connection to ${connectionAddress(this)} ended before the cluster was ready`))
          : undefined;
      const look = () => {
        if (this.status === "ready") return settle();
        if (++looks >= CLUSTER_READY_LOOKS.times) {
          const waited = (CLUSTER_READY_LOOKS.everyMs * CLUSTER_READY_LOOKS.times) / 1000;
          return settle(new Error(`${connectionAddress(this)} was not ready within ${waited}s (status ${this.status})`));
        }
        timer = setTimeout(look, CLUSTER_READY_LOOKS.everyMs);
      };
      this.on("ready", onReady);
      this.on("end", onEnd);
      timer = setTimeout(look, CLUSTER_READY_LOOKS.everyMs);
      // A failed attempt ("already connecting", a ready check that failed) is retried by ioredis: wait for it.
      attempt.then(
        () => settle(),
        () => (this.status === "ready" ? settle() : undefined),
      );
    });
  }

  override duplicate(overrideStartupNodes: ConstructorParameters<typeof Cluster>[0] = [], overrideOptions: ClusterOptions = {}): Cluster {
    const startupNodes = overrideStartupNodes.length > 0 ? overrideStartupNodes : clusterStartupNodes(this);
    return new SettlingCluster(startupNodes, { ...this.options, ...overrideOptions });
  }
}

/** The startup nodes a Cluster was given (ioredis keeps them, untyped). */
function clusterStartupNodes(cluster: Cluster): ConstructorParameters<typeof Cluster>[0] {
  return (cluster as unknown as { startupNodes: ConstructorParameters<typeof Cluster>[0] }).startupNodes.slice(0);
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
        redis: new SettlingCluster(seeds.nodes, {
          clusterRetryStrategy: reconnectDelay,
          redisOptions: { ...perNode, ...seeds.redisOptions, ...overrides },
        }),
        owned: true,
      };
    }
    return { redis: new EndingRedis(given, mine), owned: true };
  }
  if (isRedisConnection(given)) {
    return Object.keys(overrides).length === 0
      ? { redis: given, owned: false }
      : { redis: duplicateConnection(given, overrides), owned: true };
  }
  checkConnection(given, what);
  return { redis: new EndingRedis({ ...mine, ...(given as RedisOptions), ...overrides }), owned: true };
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
    // Cluster.duplicate replaces redisOptions wholesale: merge them, or the node options are lost. A
    // Settling one either way, even from a caller's plain Cluster.
    const redisOptions = { ...redis.options.redisOptions, ...overrides };
    return new SettlingCluster(clusterStartupNodes(redis), { ...redis.options, redisOptions });
  }
  // Not redis.duplicate(): a caller's plain `Redis` would duplicate into one that may never end.
  return new EndingRedis({ ...redis.options, ...overrides });
}

/** How long `closeConnection` waits for QUIT's answer before it drops the connection instead. */
export const QUIT_TIMEOUT_MS = 1000;

/**
 * Closes a connection Parkway owns: QUIT, so the replies still due arrive first, or a hard
 * disconnect when QUIT fails or goes unanswered for `QUIT_TIMEOUT_MS`. A QUIT queued behind
 * other commands while the connection waits to reconnect is only sent once Redis is back (never,
 * on a connection that retries forever, as BullMQ's do, when Redis stays away), and a Redis that
 * stopped answering never answers it: closing must not wait for either.
 */
export async function closeConnection(redis: RedisConnection): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const unanswered = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), QUIT_TIMEOUT_MS)));
  const quit = redis.quit().then(
    () => true,
    () => false,
  );
  const quitted = await Promise.race([quit, unanswered]);
  clearTimeout(timer);
  if (!quitted) redis.disconnect();
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
