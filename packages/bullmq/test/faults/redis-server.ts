/**
 * A redis-server of the fault suite's own: a spare loopback port, AOF with
 * fsync on every write, no RDB snapshots, in a temporary directory. It can be
 * killed with SIGKILL and started again on the same port and the same AOF, as
 * a crashed Redis restarted by its supervisor would be.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";
import { join } from "node:path";
import { Redis } from "ioredis";
import { freePort } from "../../../redis/test/private-redis.js";

/** The redis-server binary: `REDIS_SERVER`, else the one on the PATH. */
export function redisServerBinary(): string {
  const binary = process.env.REDIS_SERVER ?? "redis-server";
  const probe = spawnSync(binary, ["--version"], { encoding: "utf8" });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      `the fault suite starts its own redis-server and cannot run "${binary}": install it (apt-get install -y redis-server) or set REDIS_SERVER`,
    );
  }
  return binary;
}

export class RedisServer {
  private child: ChildProcess | null = null;
  private readonly log: WriteStream;
  /** How many times the server was started (the first start included). */
  starts = 0;

  private constructor(
    private readonly binary: string,
    readonly port: number,
    readonly dir: string,
  ) {
    this.log = createWriteStream(join(dir, "redis-server.log"), { flags: "a" });
  }

  /** Starts a server in `dir` on a spare port. */
  static async start(dir: string): Promise<RedisServer> {
    const server = new RedisServer(redisServerBinary(), await freePort(), dir);
    await server.launch();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== null;
  }

  /** SIGKILL: no shutdown, no final fsync; what is in the AOF is all that survives. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = null;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
  }

  /** Starts the server again on the same port and AOF directory; resolves once it answers PING. */
  async launch(): Promise<void> {
    if (this.child) return;
    const args = [
      "--port",
      String(this.port),
      "--bind",
      "127.0.0.1",
      "--dir",
      this.dir,
      "--appendonly",
      "yes",
      "--appendfsync",
      "always",
      "--save",
      "",
      "--maxmemory-policy",
      "noeviction",
      "--daemonize",
      "no",
    ];
    const child = spawn(this.binary, args, { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout?.pipe(this.log, { end: false });
    child.stderr?.pipe(this.log, { end: false });
    this.child = child;
    this.starts++;
    await this.waitUntilReady();
  }

  /** Kills the server at once, synchronously: for a test process exiting early. */
  killNow(): void {
    this.child?.kill("SIGKILL");
  }

  async stop(): Promise<void> {
    await this.kill();
    this.log.end();
  }

  private async waitUntilReady(): Promise<void> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const probe = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on("error", () => undefined);
      try {
        await probe.connect();
        // While the AOF loads, Redis answers LOADING: wait until it is really ready.
        if ((await probe.ping()) === "PONG") return;
      } catch {
        if (this.child?.exitCode !== null) throw new Error(`redis-server exited while starting; see ${join(this.dir, "redis-server.log")}`);
        if (Date.now() > deadline) throw new Error(`redis-server on port ${this.port} did not answer within 30s`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      } finally {
        probe.disconnect();
      }
    }
  }
}
