import { reportConnectionErrors } from "@parkway/redis";
import { Redis } from "ioredis";

/** A Redis URL, or an ioredis connection to share. */
export type Connection = string | Redis;

/**
 * A connection for BullMQ. BullMQ's blocking commands need
 * `maxRetriesPerRequest: null`, so we open our own (from the URL, or as a
 * duplicate of a shared connection) and close it ourselves.
 */
export function queueConnection(connection: Connection): Redis {
  const redis =
    typeof connection === "string"
      ? new Redis(connection, { maxRetriesPerRequest: null })
      : connection.duplicate({ maxRetriesPerRequest: null });
  reportConnectionErrors(redis, "the wake-up queue", (message) => process.emitWarning(message, "ParkwayWarning"));
  return redis;
}
