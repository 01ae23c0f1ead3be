/**
 * Measures what one store call makes Redis do, from MONITOR: the commands its
 * script ran and the bytes of the arguments of those that write. A script is
 * atomic, so its commands appear in MONITOR right after its FCALL (or EVALSHA) with
 * nothing from other clients in between.
 */
import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";

/** What one script call cost. */
export interface CommitCost {
  /** Commands the script ran, in order (reads included). */
  readonly commands: readonly string[];
  /** Bytes of the arguments (keys and values) of the commands that write. */
  readonly bytesWritten: number;
  /** Bytes of the call itself (function name or script sha, keys, arguments). */
  readonly bytesSent: number;
}

const WRITES = new Set(["hset", "hdel", "hincrby", "zadd", "zrem", "rpush", "lpop", "del", "set", "publish"]);

interface Seen {
  readonly args: readonly string[];
  readonly source: string;
}

/** Runs `call` under MONITOR and reports the commands and write bytes of its script in namespace `ns`. */
export async function measureCommit(redis: Redis, ns: string, call: () => Promise<unknown>): Promise<CommitCost> {
  const monitor = await redis.monitor();
  const seen: Seen[] = [];
  monitor.on("monitor", (_time: string, args: string[], source: string) => seen.push({ args, source }));
  try {
    await call();
    const marker = `marker-${randomUUID()}`;
    await redis.echo(marker);
    for (let i = 0; i < 200 && !seen.some((s) => s.args.includes(marker)); i++) await new Promise((r) => setTimeout(r, 10));
  } finally {
    monitor.disconnect();
  }
  const start = seen.findIndex(
    (s) => s.source !== "lua" && /^(eval|fcall)/i.test(s.args[0] ?? "") && s.args.some((a) => a.includes(`{${ns}}`)),
  );
  if (start < 0) throw new Error("the script call was not seen in MONITOR");
  const ran: Seen[] = [];
  for (const s of seen.slice(start + 1)) {
    if (s.source !== "lua") break;
    ran.push(s);
  }
  const size = (args: readonly string[]) => args.reduce((sum, a) => sum + Buffer.byteLength(a), 0);
  return {
    commands: ran.map((s) => (s.args[0] ?? "").toLowerCase()),
    bytesWritten: ran.filter((s) => WRITES.has((s.args[0] ?? "").toLowerCase())).reduce((sum, s) => sum + size(s.args.slice(1)), 0),
    bytesSent: size(seen[start]?.args.slice(2) ?? []),
  };
}
