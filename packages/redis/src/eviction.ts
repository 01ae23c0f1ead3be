/**
 * Redis settings Parkway's promises rest on, checked once and warned about
 * rather than refused (managed Redis often hides CONFIG: then nothing is said).
 *
 * - `maxmemory-policy` must be `noeviction`: an evicted header or signal
 *   buffer is a run or a signal lost for good. The store checks it on first use.
 * - `appendonly` should be `yes`: without the append-only file, a Redis
 *   restart goes back to the last RDB snapshot (or to nothing). Workers check
 *   it at start (docs/failure-modes.md says what is lost).
 */
import type { RedisConnection } from "./connection.js";

/** A setting's value, or undefined when CONFIG GET is refused or answers something else. */
async function configValue(redis: RedisConnection, name: string): Promise<string | undefined> {
  try {
    const reply: unknown = await redis.config("GET", name);
    return Array.isArray(reply) && typeof reply[1] === "string" ? reply[1] : undefined;
  } catch {
    return undefined; // CONFIG disabled or renamed: nothing to check.
  }
}

/** Warns through `onWarning` when `maxmemory-policy` is not `noeviction`; silent when CONFIG is unavailable. */
export async function checkEvictionPolicy(redis: RedisConnection, onWarning: (message: string) => void): Promise<void> {
  const policy = await configValue(redis, "maxmemory-policy");
  if (policy !== undefined && policy !== "noeviction") {
    onWarning(
      `Redis maxmemory-policy is "${policy}"; Parkway needs "noeviction": under memory pressure Redis would evict runs and signals. ` +
        `Set "maxmemory-policy noeviction" in redis.conf.`,
    );
  }
}

/** Warns through `onWarning` when Redis keeps no append-only file (`appendonly no`); silent when CONFIG is unavailable. */
export async function checkAppendOnly(redis: RedisConnection, onWarning: (message: string) => void): Promise<void> {
  if ((await configValue(redis, "appendonly")) !== "no") return;
  onWarning(
    `Redis runs without an append-only file (appendonly no): a Redis restart or crash goes back to its last RDB snapshot, if any, ` +
      `losing the runs started, steps committed and signals sent since (committed steps run again; lost starts and signals are gone). ` +
      `Set "appendonly yes" in redis.conf; see docs/failure-modes.md.`,
  );
}
