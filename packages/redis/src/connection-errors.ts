import type { Redis } from "ioredis";

/**
 * Listens for a connection's errors so they never surface as ioredis's
 * "Unhandled error event" (ioredis retries on its own; commands in flight
 * fail with their own errors). Warns once per outage, not once per retry.
 */
export function reportConnectionErrors(redis: Redis, what: string, warn: (message: string) => void): void {
  let down = false;
  redis.on("error", (error: Error) => {
    if (down) return;
    down = true;
    warn(`parkway: ${what} lost its Redis connection (${error.message}); retrying`);
  });
  redis.on("ready", () => {
    down = false;
  });
}
