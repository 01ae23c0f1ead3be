/**
 * A vitest globalSetup for every project whose tests need Redis: `npm test` passes on a machine with Node
 * and no Redis running.
 *
 * When a server answers at REDIS_URL (default redis://127.0.0.1:6379) the tests use it and nothing is started.
 * When nothing answers, it starts a private `redis-server` on a spare loopback port (nothing kept on disk),
 * points the tests at it through REDIS_URL, and stops it after the run. Without `redis-server` installed it
 * fails at once with one line saying what to install. Projects run their globalSetup one after another, so
 * the first starts the private server and the next ones find it answering.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_REDIS_URL } from "./redis-url.js";

export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  const url = process.env.REDIS_URL || DEFAULT_REDIS_URL;
  if (await answers(url)) {
    process.env.REDIS_URL = url;
    return undefined;
  }
  const server = await startPrivateRedis(url);
  process.env.REDIS_URL = server.url;
  console.log(`test setup: nothing answers at ${url}; started a private redis-server at ${server.url} for this run`);
  return server.stop;
}

/** Whether a Redis answers a PING at `url` (an error reply such as NOAUTH counts: a server is there). */
function answers(url: string, timeoutMs = 1_000): Promise<boolean> {
  const { protocol, hostname, port } = new URL(url);
  // A TLS or socket URL is the user's own setup: hand it to the tests as it is.
  if (protocol !== "redis:") return Promise.resolve(true);
  return new Promise((resolve) => {
    const socket = connect(Number(port || 6379), hostname.replace(/^\[|\]$/g, ""));
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("error", () => done(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.once("data", (reply) => done(reply[0] === 0x2b /* + */ || reply[0] === 0x2d /* - */));
  });
}

/** A loopback port nothing listens on now. */
function sparePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

async function startPrivateRedis(wanted: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), "parkway-test-redis-"));
  const port = await sparePort();
  const url = `redis://127.0.0.1:${port}`;
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir];
  const child = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  // Should vitest itself die, the server goes with it.
  const orphaned = () => child.kill("SIGKILL");
  process.once("exit", orphaned);
  const stop = async () => {
    process.off("exit", orphaned);
    await ended(child, "SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  };

  const failure = await new Promise<string | undefined>((resolve) => {
    child.once("error", (error: NodeJS.ErrnoException) =>
      resolve(
        error.code === "ENOENT"
          ? `Nothing answers at ${wanted} and redis-server is not installed: ` +
              `apt-get install redis-server (or brew install redis), or set REDIS_URL to a Redis the tests may use.`
          : `redis-server could not start: ${error.message}`,
      ),
    );
    child.once("exit", (code) => resolve(`redis-server exited with ${code} before it answered: ${output.trim()}`));
    const deadline = Date.now() + 10_000;
    const poll = async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      if (await answers(url, 200)) return resolve(undefined);
      if (Date.now() > deadline) return resolve(`redis-server did not answer at ${url} within 10s: ${output.trim()}`);
      setTimeout(() => void poll(), 50);
    };
    child.once("spawn", () => void poll());
  });
  if (failure !== undefined) {
    await stop();
    // One line and out, before any test starts: a thrown error here would be printed under vitest's listing of
    // every project and a stack trace, and the only thing a user can act on is what this line says.
    process.stderr.write(`${failure}\n`);
    process.exit(1);
  }
  return { url, stop };
}

/** Sends `signal` unless the process has already exited, and resolves once it has. */
function ended(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill(signal);
  });
}
