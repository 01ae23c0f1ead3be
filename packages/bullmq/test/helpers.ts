import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { dropNamespace } from "@parkway/redis";
import { Redis } from "ioredis";
import { REDIS_URL } from "../../../test/redis-url.js";

export { REDIS_URL };
export const WORKER_MAIN = fileURLToPath(new URL("../../../apps/worker/dist/main.js", import.meta.url));
export const FIXTURES = fileURLToPath(new URL("./fixtures/workflows.mjs", import.meta.url));

/** A fresh namespace and ledger per test file, removed afterwards. */
export function testSpace(): { namespace: string; ledger: string; cleanup(redis: Redis): Promise<void> } {
  const namespace = `t-${randomBytes(5).toString("hex")}`;
  const ledger = `{${namespace}}:ledger`;
  return {
    namespace,
    ledger,
    async cleanup(redis) {
      await dropNamespace(redis, namespace);
    },
  };
}

/** A worker process, resolved once it reports it is consuming. */
export async function startWorker(namespace: string, ledger: string, extra: string[] = [], redis = REDIS_URL): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    // The ledger stays on REDIS_URL (the fixtures' own connection), outside the Redis under test.
    [WORKER_MAIN, "--workflows", FIXTURES, "--redis", redis, "--namespace", namespace, "--lease", "2s", "--sweep", "300ms", ...extra],
    { env: { ...process.env, PARKWAY_LEDGER: ledger }, stdio: ["ignore", "inherit", "pipe"] },
  );
  await new Promise<void>((resolve, reject) => {
    let text = "";
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      process.stderr.write(chunk);
      if (text.includes("worker started")) {
        child.stderr?.off("data", onData);
        child.stderr?.on("data", (c: Buffer) => process.stderr.write(c));
        resolve();
      }
    };
    child.stderr?.on("data", onData);
    child.once("exit", (code) => reject(new Error(`worker exited with ${code} before it was ready: ${text}`)));
  });
  return child;
}

/** Stops a worker process and waits for it to exit. */
export async function stopWorker(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill(signal);
  await exited;
}

/** How many times each "<instance>|<commit key>" appears in the ledger. */
export async function ledgerCounts(redis: Redis, ledger: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const entry of await redis.lrange(ledger, 0, -1)) counts.set(entry, (counts.get(entry) ?? 0) + 1);
  return counts;
}

export async function eventually<T>(probe: () => Promise<T | undefined | false>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
