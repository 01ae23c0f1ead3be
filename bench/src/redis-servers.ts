/**
 * Redis servers the bench starts for itself on spare loopback ports, without
 * persistence, and stops when it is done: one `redis-server` (`--redis local`,
 * and `redis-cost`), or a Redis Cluster of N masters made with
 * `redis-cli --cluster create` (`--redis-cluster local:N`). On a Redis only the
 * bench uses, `INFO` deltas are the engines' cost alone.
 *
 * Needs `redis-server` and `redis-cli` (Redis 7) on the PATH. Each cluster
 * node's bus port is chosen free too (`cluster-port`) rather than Redis's
 * default of port + 10000, which may be taken or out of range.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Redis } from "ioredis";

/** The fewest masters `redis-cli --cluster create` accepts. */
export const MIN_CLUSTER_MASTERS = 3;
/** How long a new cluster may take to agree on its slots. */
const CLUSTER_READY_MS = 30_000;

/** A TCP port nothing listens on now on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Redis servers started here; `url` is what Parkway's `connection` and the worker's `--redis` take. */
export interface LocalRedis {
  /** One URL, or a Cluster's nodes as a comma-separated list of URLs. */
  readonly url: string;
  /** How many masters serve the data (1 for a plain server). */
  readonly masters: number;
  stop(): Promise<void>;
}

/**
 * Starts `redis-server` on `port` with `extra` arguments, without persistence; resolves once it
 * answers PING. `launcher` is a command line the server runs under (a profiler).
 * @throws Error with the server's output when it exits first
 */
export async function startRedisServer(
  port: number,
  extra: readonly string[] = [],
  path = "redis-server",
  launcher: readonly string[] = [],
): Promise<ChildProcess> {
  const args = [...launcher, path, "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", ...extra];
  const child = spawn(args[0]!, args.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000));
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  // Should the bench itself die, its servers go with it.
  const orphaned = () => child.kill("SIGKILL");
  process.once("exit", orphaned);
  child.once("exit", () => process.off("exit", orphaned));
  const probe = new Redis(port, "127.0.0.1", { lazyConnect: true, retryStrategy: () => 50, maxRetriesPerRequest: null });
  probe.on("error", () => undefined);
  const exited = new Promise<never>((_, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`${path} on port ${port} exited with ${code} before it answered: ${output.trim()}`)));
  });
  try {
    // The first attempt may come before the server listens: the probe retries, and PING waits for it.
    const answered = probe
      .connect()
      .catch(() => undefined)
      .then(() => probe.ping());
    await Promise.race([answered, exited]);
  } finally {
    exited.catch(() => undefined);
    probe.disconnect();
  }
  return child;
}

/** Stops a server (SIGKILL: nothing of it is kept) and waits for it to exit. */
async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGKILL");
  await exited;
}

/** One private `redis-server`. */
export async function startLocalServer(): Promise<LocalRedis> {
  const dir = await mkdtemp(join(tmpdir(), "parkway-bench-redis-"));
  const port = await freePort();
  try {
    const child = await startRedisServer(port, ["--dir", dir]);
    return {
      url: `redis://127.0.0.1:${port}`,
      masters: 1,
      stop: async () => {
        await kill(child);
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** A private Redis Cluster of `masters` masters (no replicas); resolves once every node says `cluster_state:ok`. */
export async function startLocalCluster(masters: number): Promise<LocalRedis> {
  if (!Number.isInteger(masters) || masters < MIN_CLUSTER_MASTERS) {
    throw new Error(`a Redis Cluster needs at least ${MIN_CLUSTER_MASTERS} masters, got ${masters}`);
  }
  const dir = await mkdtemp(join(tmpdir(), "parkway-bench-cluster-"));
  const children: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(children.map(kill));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const ports: number[] = [];
    for (let i = 0; i < masters; i++) {
      const port = await freePort();
      const bus = await freePort();
      ports.push(port);
      const config = ["--cluster-enabled", "yes", "--cluster-port", String(bus), "--cluster-config-file", `nodes-${port}.conf`];
      children.push(await startRedisServer(port, [...config, "--dir", dir]));
    }
    const nodes = ports.map((port) => `127.0.0.1:${port}`);
    await promisify(execFile)("redis-cli", ["--cluster", "create", ...nodes, "--cluster-replicas", "0", "--cluster-yes"]);
    await untilClusterReady(ports);
    return { url: ports.map((port) => `redis://127.0.0.1:${port}`).join(","), masters, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function untilClusterReady(ports: readonly number[]): Promise<void> {
  const deadline = Date.now() + CLUSTER_READY_MS;
  for (const port of ports) {
    const redis = new Redis(port, "127.0.0.1");
    try {
      while (!(await redis.cluster("INFO")).includes("cluster_state:ok")) {
        if (Date.now() > deadline) throw new Error(`the cluster node on port ${port} did not reach cluster_state:ok`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      redis.disconnect();
    }
  }
}
