/**
 * A private Redis Cluster on loopback ports, for tests: `masters` masters
 * (3 by default, the fewest Redis accepts) with `replicas` replicas each,
 * made with `redis-cli --cluster create`, in a temporary directory removed
 * on `stop()`. Needs `redis-server` and `redis-cli` (Redis 7) on the PATH.
 *
 * Each node's cluster bus port is chosen free too (`cluster-port`), rather
 * than Redis's default of port + 10000, which may be taken or out of range.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Cluster, Redis, type ClusterOptions } from "ioredis";
import { freePort } from "./private-redis.js";

export interface LocalClusterOptions {
  /** Masters (at least 3). Default 3. */
  readonly masters?: number;
  /** Replicas of each master. Default 0. */
  readonly replicas?: number;
  /** `cluster-node-timeout` in ms: how long a silent master has before its replica is promoted. Default 2000. */
  readonly nodeTimeoutMs?: number;
}

/** One redis-server of the cluster. */
export interface ClusterNode {
  readonly port: number;
  readonly busPort: number;
  /** The running process; null once stopped (a test may stop a node to fail it over). */
  process: ChildProcess | null;
}

/** How long the cluster may take to agree on its slots before `start` gives up. */
const CLUSTER_READY_MS = 30_000;

export class LocalCluster {
  private constructor(
    private readonly dir: string,
    readonly nodes: readonly ClusterNode[],
    private readonly nodeTimeoutMs: number,
  ) {}

  /** Starts the nodes, creates the cluster and resolves once every node says `cluster_state:ok`. */
  static async start(options: LocalClusterOptions = {}): Promise<LocalCluster> {
    const masters = options.masters ?? 3;
    const replicas = options.replicas ?? 0;
    if (masters < 3) throw new Error(`a Redis Cluster needs at least 3 masters, got ${masters}`);
    const dir = await mkdtemp(join(tmpdir(), "parkway-cluster-"));
    const nodes: ClusterNode[] = [];
    for (let i = 0; i < masters * (1 + replicas); i++) nodes.push({ port: await freePort(), busPort: await freePort(), process: null });
    const cluster = new LocalCluster(dir, nodes, options.nodeTimeoutMs ?? 2000);
    try {
      await Promise.all(nodes.map((node) => cluster.startNode(node)));
      await promisify(execFile)("redis-cli", [
        "--cluster",
        "create",
        ...nodes.map((node) => `127.0.0.1:${node.port}`),
        "--cluster-replicas",
        String(replicas),
        "--cluster-yes",
      ]);
      await cluster.waitUntilReady();
      return cluster;
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }

  /** The startup nodes, as ioredis takes them. */
  get startupNodes(): { host: string; port: number }[] {
    return this.nodes.map((node) => ({ host: "127.0.0.1", port: node.port }));
  }

  /** The nodes as the command line takes them: `redis://127.0.0.1:p1,redis://127.0.0.1:p2,...`. */
  get urls(): string {
    return this.nodes.map((node) => `redis://127.0.0.1:${node.port}`).join(",");
  }

  /** A new ioredis Cluster client (the caller closes it). */
  connect(options: ClusterOptions = {}): Cluster {
    return new Cluster(this.startupNodes, options);
  }

  /** Starts (or restarts, with its saved cluster config) a node, and resolves once it answers PING. */
  async startNode(node: ClusterNode): Promise<void> {
    if (node.process) return;
    node.process = spawn(
      "redis-server",
      [
        "--port",
        String(node.port),
        "--cluster-port",
        String(node.busPort),
        "--bind",
        "127.0.0.1",
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        `nodes-${node.port}.conf`,
        "--cluster-node-timeout",
        String(this.nodeTimeoutMs),
        "--dir",
        this.dir,
        "--save",
        "",
        "--appendonly",
        "no",
      ],
      { stdio: "ignore" },
    );
    const probe = new Redis(node.port, "127.0.0.1", { lazyConnect: true, retryStrategy: () => 50, maxRetriesPerRequest: null });
    probe.on("error", () => undefined);
    try {
      await probe.connect().catch(() => undefined);
      await probe.ping();
    } finally {
      probe.disconnect();
    }
  }

  /** Stops a node with `signal` (SIGKILL: a crash) and waits for it to exit. */
  async stopNode(node: ClusterNode, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const child = node.process;
    node.process = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill(signal);
    await exited;
  }

  /** Resolves once every running node reports `cluster_state:ok`. */
  async waitUntilReady(): Promise<void> {
    const deadline = Date.now() + CLUSTER_READY_MS;
    for (const node of this.nodes.filter((n) => n.process)) {
      const redis = new Redis(node.port, "127.0.0.1");
      try {
        while (!(await redis.cluster("INFO")).includes("cluster_state:ok")) {
          if (Date.now() > deadline) throw new Error(`the cluster on ${this.urls} did not reach cluster_state:ok`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      } finally {
        redis.disconnect();
      }
    }
  }

  /** The `host:port` of the master that serves `key`'s slot (from CLUSTER SLOTS, as a node sees it now). */
  async masterOf(key: string): Promise<string> {
    const redis = new Redis(this.nodes.find((n) => n.process)!.port, "127.0.0.1");
    try {
      const slot = Number(await redis.cluster("KEYSLOT", key));
      const ranges = (await redis.cluster("SLOTS")) as unknown as [number, number, [string, number, ...unknown[]], ...unknown[]][];
      const range = ranges.find(([from, to]) => slot >= from && slot <= to);
      if (!range) throw new Error(`no master serves slot ${slot}`);
      return `${range[2][0]}:${range[2][1]}`;
    } finally {
      redis.disconnect();
    }
  }

  /** Stops every node and removes the directory. */
  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => this.stopNode(node)));
    await rm(this.dir, { recursive: true, force: true });
  }
}
