import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { dropNamespace } from "@parkway/bullmq";
import type { Redis } from "ioredis";
import { REDIS_URL } from "../../../test/redis-url.js";

export { REDIS_URL };
export const WORKER_MAIN = fileURLToPath(new URL("./fixtures/worker.mjs", import.meta.url));
export const DASHBOARD_MAIN = fileURLToPath(new URL("../dist/server/main.js", import.meta.url));
/** The tests' order workflow: the worker runs it and the dashboard draws it. */
export const ORDER_MODULE = fileURLToPath(new URL("./fixtures/order.mjs", import.meta.url));

/** Polls `probe` until it answers something other than undefined or false. */
export async function eventually<T>(probe: () => Promise<T | undefined | false>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** `target` with every call of each of its methods counted: how often the dashboard reads the store through a client. */
export function countCalls<T extends object>(target: T): { client: T; calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const proxy = new Proxy(target, {
    get(t, prop) {
      const value = Reflect.get(t, prop, t) as unknown;
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        calls.set(String(prop), (calls.get(String(prop)) ?? 0) + 1);
        return (value as (...a: unknown[]) => unknown).apply(t, args);
      };
    },
  });
  return { client: proxy, calls };
}

/** Reads a server-sent event stream: `next(name)` resolves with the data of the next event of that name. */
export function readEvents(response: Response): { next(event: string): Promise<string>; close(): Promise<void> } {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  const queued: { event: string; data: string }[] = [];
  return {
    async next(event) {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const index = queued.findIndex((e) => e.event === event);
        if (index >= 0) return queued.splice(0, index + 1).pop()!.data;
        if (Date.now() > deadline) throw new Error(`no "${event}" event within 10s`);
        const { done, value } = await reader.read();
        if (done) throw new Error(`the stream ended before a "${event}" event`);
        buffer += decoder.decode(value as Uint8Array, { stream: true });
        let end: number;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const lines = block.split("\n");
          const name =
            lines
              .find((l) => l.startsWith("event:"))
              ?.slice(6)
              .trim() ?? "message";
          const data = lines
            .filter((l) => l.startsWith("data:"))
            .map((l) => l.slice(5).trimStart())
            .join("\n");
          queued.push({ event: name, data });
        }
      }
    },
    close: () => reader.cancel(),
  };
}

/** A fresh Redis namespace per test file, its keys removed afterwards. */
export function testSpace(): { namespace: string; cleanup(redis: Redis): Promise<void> } {
  const namespace = `dash-${randomBytes(5).toString("hex")}`;
  return {
    namespace,
    async cleanup(redis) {
      await dropNamespace(redis, namespace);
    },
  };
}

/** Spawns `node main args`, resolved with the first stdout or stderr text matching `ready` (and the process). */
async function spawnUntil(
  main: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  ready: RegExp,
): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const child = spawn(process.execPath, [main, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    let text = "";
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      const found = ready.exec(text);
      if (found) resolve(found);
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => reject(new Error(`${main} exited with ${code} before it was ready:\n${text}`)));
  });
  // Keep the pipes drained (a full pipe would block the child) and its complaints visible.
  child.stdout?.removeAllListeners("data").resume();
  child.stderr?.removeAllListeners("data").on("data", (c: Buffer) => process.stderr.write(c));
  return { child, match };
}

/** A worker process running the order workflow in `namespace`. */
export async function startWorker(namespace: string): Promise<ChildProcess> {
  const args = ["--workflows", ORDER_MODULE, "--redis", REDIS_URL, "--namespace", namespace, "--sweep", "300ms"];
  return (await spawnUntil(WORKER_MAIN, args, {}, /worker started/)).child;
}

/** The dashboard process on Redis in `namespace`, on a free port; resolves with its URL. */
export async function startDashboardProcess(namespace: string, token: string): Promise<{ child: ChildProcess; url: string }> {
  const args = ["--redis", REDIS_URL, "--namespace", namespace, "--workflows", ORDER_MODULE, "--port", "0"];
  const { child, match } = await spawnUntil(DASHBOARD_MAIN, args, { PARKWAY_DASHBOARD_TOKEN: token }, /(http:\/\/127\.0\.0\.1:\d+)/);
  return { child, url: match[1]! };
}

/** Stops a child process and waits for it to exit. */
export async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}
