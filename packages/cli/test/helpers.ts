/** Drives `parkway` as a user would: spawned processes against a real Redis, in a namespace of their own. */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { dropNamespace } from "@parkway/bullmq";
import { Redis } from "ioredis";
import { REDIS_URL } from "../../../test/redis-url.js";

export { REDIS_URL };
export const PARKWAY = fileURLToPath(new URL("../dist/main.js", import.meta.url));
export const FIXTURES = fileURLToPath(new URL("./fixtures/workflows.mjs", import.meta.url));

/** How a `parkway` process ended. */
export interface Ran {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A fresh namespace, and a way to run `parkway` in it. */
export function cliSpace() {
  const namespace = `cli-${randomBytes(5).toString("hex")}`;
  const env: NodeJS.ProcessEnv = { ...process.env, REDIS_URL, PARKWAY_NAMESPACE: namespace };
  delete env.PARKWAY_WORKFLOWS;
  return {
    namespace,
    /** Runs `parkway ...args` to its exit. */
    run: (...args: string[]): Promise<Ran> =>
      new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [PARKWAY, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        const timer = setTimeout(() => {
          child.kill("SIGKILL");
          reject(new Error(`parkway ${args.join(" ")} did not exit within 60s\n${stdout}\n${stderr}`));
        }, 60_000);
        child.once("error", reject);
        child.once("close", (code) => {
          clearTimeout(timer);
          resolve({ code, stdout, stderr });
        });
      }),
    /** Starts `parkway worker` and resolves once it reports it is consuming. */
    async startWorker(): Promise<ChildProcess> {
      const args = [PARKWAY, "worker", "--workflows", FIXTURES, "--lease", "2s", "--sweep", "300ms"];
      const child = spawn(process.execPath, args, { env, stdio: ["ignore", "inherit", "pipe"] });
      await new Promise<void>((resolve, reject) => {
        let text = "";
        const onData = (chunk: Buffer) => {
          text += chunk.toString();
          if (text.includes("worker started")) {
            child.stderr?.off("data", onData);
            child.stderr?.on("data", (c: Buffer) => process.stderr.write(c));
            resolve();
          }
        };
        child.stderr?.on("data", onData);
        child.once("exit", (code) => reject(new Error(`parkway worker exited with ${code} before it was ready: ${text}`)));
      });
      return child;
    },
    /** Deletes every key of the namespace. */
    async cleanup(): Promise<void> {
      const redis = new Redis(REDIS_URL);
      try {
        await dropNamespace(redis, namespace);
      } finally {
        await redis.quit();
      }
    },
  };
}

/** Stops a process and waits for it to exit. */
export async function stop(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill(signal);
  await exited;
}

/** Polls `probe` until it answers something other than undefined or false. */
export async function eventually<T>(probe: () => Promise<T | undefined | false>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
