import { openConnection, type ConnectionOptions, type ConnectionWatch, type RedisConnection } from "@parkway/redis";

/**
 * How a client or worker is given Redis, as BullMQ takes it: a URL, ioredis options
 * (`{ host, port, ... }`), an ioredis `Redis` or an ioredis `Cluster`. A URL or options open
 * connections that Parkway closes; a `Redis` or `Cluster` is shared and never closed by Parkway.
 */
export type Connection = ConnectionOptions;

/**
 * A connection for BullMQ. BullMQ's blocking commands need `maxRetriesPerRequest: null`,
 * so we always open our own (from the URL or options, or as a duplicate of a shared
 * connection) and close it ourselves. `watch` reports its outages.
 */
export function queueConnection(connection: Connection, what: string, watch: ConnectionWatch): RedisConnection {
  const { redis } = openConnection(connection, what, { maxRetriesPerRequest: null });
  watch.watch(redis);
  return redis;
}
