/**
 * What a process says while Redis is unreachable: one line per reconnection
 * attempt, naming the address and the cause, however many connections the
 * process holds; one line when Redis answers again. Never a stack trace per
 * retry, and never ioredis's "Unhandled error event".
 */
import type { Logger } from "@parkway/core";
import { connectionAddress, type RedisConnection } from "./connection.js";

/** Watches the connections of one store, worker or client; they share its outage lines. */
export class ConnectionWatch {
  /** Why Redis is unreachable now, or null while it answers. */
  private reason: string | null = null;
  /** The highest attempt number reported in this outage: every connection passes 1, 2, 3...; each is said once. */
  private reported = 0;

  constructor(private readonly logger: Logger) {}

  /** Null while Redis answers; else one line saying why not (for readiness checks). */
  get unreachable(): string | null {
    return this.reason;
  }

  /** Reports `redis`'s outages through this watch's logger. */
  watch(redis: RedisConnection): void {
    const address = connectionAddress(redis);
    let lastError: (Error & { code?: string }) | null = null;
    let attempt = 0;
    redis.on("error", (error: Error & { code?: string }) => {
      lastError = error;
      // A system error (ECONNREFUSED, ECONNRESET, ...) means the connection is gone: say so at once to readiness checks.
      if (typeof error.code === "string" && error.code.startsWith("E")) this.reason ??= `cannot reach Redis at ${address} (${error.code})`;
    });
    redis.on("reconnecting", (delayMs: unknown) => {
      attempt++;
      const cause = lastError?.code ?? lastError?.message ?? "connection lost";
      this.reason = `cannot reach Redis at ${address} (${cause})`;
      if (attempt <= this.reported) return;
      this.reported = attempt;
      const retry = typeof delayMs === "number" ? `; retrying in ${formatDelay(delayMs)}` : "; retrying";
      this.logger.warn({ redis: address, cause, attempt }, `${this.reason}${retry}`);
    });
    redis.on("ready", () => {
      attempt = 0;
      lastError = null;
      if (this.reason === null) return;
      this.reason = null;
      this.reported = 0;
      this.logger.info({ redis: address }, `Redis at ${address} answers again`);
    });
  }
}

function formatDelay(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
