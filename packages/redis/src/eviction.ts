/**
 * Redis must not evict Parkway's keys: an evicted header or signal buffer is a
 * run or a signal lost for good. The store checks the policy once, on first
 * use, and warns rather than refuses (managed Redis often hides CONFIG).
 */
import type { RedisConnection } from "./connection.js";

/** Warns through `onWarning` when `maxmemory-policy` is not `noeviction`; silent when CONFIG is unavailable. */
export async function checkEvictionPolicy(redis: RedisConnection, onWarning: (message: string) => void): Promise<void> {
  let policy: string | undefined;
  try {
    const reply: unknown = await redis.config("GET", "maxmemory-policy");
    policy = Array.isArray(reply) && typeof reply[1] === "string" ? reply[1] : undefined;
  } catch {
    return; // CONFIG disabled or renamed: nothing to check.
  }
  if (policy !== undefined && policy !== "noeviction") {
    onWarning(
      `Redis maxmemory-policy is "${policy}"; Parkway needs "noeviction": under memory pressure Redis would evict runs and signals. ` +
        `Set "maxmemory-policy noeviction" in redis.conf.`,
    );
  }
}
