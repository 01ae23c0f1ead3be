/**
 * A private Redis Cluster on loopback ports, for tests: `masters` masters
 * (3 by default, the fewest Redis accepts) with `replicas` replicas each,
 * made with `redis-cli --cluster create`, in a temporary directory removed
 * on `stop()`. Needs `redis-server` and `redis-cli` (Redis 7) on the PATH.
 *
 * Each node's cluster bus port is chosen free too (`cluster-port`), rather
 * than Redis's default of port + 10000, which may be taken or out of range.
 * Each node keeps its own files (`nodes-<port>.conf`, `dump-<port>.rdb`,
 * `appendonlydir-<port>`) and log (`node-<port>.log`), so a node killed and
 * started again comes back with its own data and identity, as a crashed
 * server restarted by its supervisor does.
 *
 * `failOver` plays a master's crash: SIGKILL, its replica promoted, the old
 * master started again and rejoined as a replica of the new one.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Cluster, Redis, type ClusterOptions } from "ioredis";
import { freePorts } from "./private-redis.js";

export interface LocalClusterOptions {
  /** Masters (at least 3). Default 3. */
  readonly masters?: number;
  /** Replicas of each master. Default 0. */
  readonly replicas?: number;
  /** `cluster-node-timeout` in ms: how long a silent master has before its replica is promoted. Default 2000. */
  readonly nodeTimeoutMs?: number;
  /** An append-only file fsynced before every reply (`appendfsync always`), as a durable deployment runs. Default off. */
  readonly appendOnly?: boolean;
}

/** One redis-server of the cluster. */
export interface ClusterNode {
  readonly port: number;
  readonly busPort: number;
  /** The running process; null once stopped (a test may stop a node to fail it over). */
  process: ChildProcess | null;
}

/** How a replica takes its master's place: elected once the master is seen failing, or at once by `CLUSTER FAILOVER TAKEOVER`. */
export type Promotion = "automatic" | "takeover";

export interface FailoverOptions {
  readonly promotion?: Promotion;
  /**
   * Cuts the replica off its master this long before the master is killed: the replica lags (its
   * link down, as in a partition between the two), so it misses what the master acknowledged
   * meanwhile, and is promoted without it.
   */
  readonly replicaLagMs?: number;
  /** Cuts the replica off as `replicaLagMs` does, for as long as this runs (then `replicaLagMs` more). */
  readonly whileReplicaLags?: () => Promise<void>;
  /** Runs once the master is killed, before its replica may take over (while it lags, if it does). */
  readonly whileMasterDown?: () => Promise<void>;
}

/** What a failover did, and when (wall clock, ms). */
export interface Failover {
  /** The master killed, and the replica promoted in its place. */
  readonly killed: ClusterNode;
  readonly promoted: ClusterNode;
  /** The slot ranges the killed master served. */
  readonly slots: readonly (readonly [number, number])[];
  /** When the replica was stopped (the start of the lag), or null when it was not. */
  readonly lagFrom: number | null;
  readonly killedAt: number;
  /** When the replica said it is a master. */
  readonly promotedAt: number;
  /** When every live node said `cluster_state:ok` again. */
  readonly healedAt: number;
  /** When the old master, started again, replicated the new one. */
  readonly rejoinedAt: number;
}

/** One line of CLUSTER NODES. */
interface NodeLine {
  readonly id: string;
  readonly port: number;
  readonly flags: readonly string[];
  /** The master's id of a replica; "-" for a master. */
  readonly masterId: string;
  readonly slots: readonly (readonly [number, number])[];
}

/** How long the cluster may take to agree on its slots, promote a replica or rejoin a node, before a wait gives up. */
const WAIT_MS = 30_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class LocalCluster {
  /** The replica a failover stopped to make it lag, while it is stopped. */
  private lagging: ClusterNode | null = null;

  private constructor(
    private readonly dir: string,
    readonly nodes: readonly ClusterNode[],
    private readonly options: LocalClusterOptions,
  ) {}

  /**
   * Starts the nodes, creates the cluster and resolves once every node says `cluster_state:ok`.
   * @throws Error naming the nodes and with the tail of their logs when the cluster cannot form
   */
  static async start(options: LocalClusterOptions = {}): Promise<LocalCluster> {
    const masters = options.masters ?? 3;
    const replicas = options.replicas ?? 0;
    if (masters < 3) throw new Error(`a Redis Cluster needs at least 3 masters, got ${masters}`);
    const dir = await mkdtemp(join(tmpdir(), "parkway-cluster-"));
    const count = masters * (1 + replicas);
    const ports = await freePorts(2 * count);
    const nodes: ClusterNode[] = Array.from({ length: count }, (_, i) => ({
      port: ports[2 * i]!,
      busPort: ports[2 * i + 1]!,
      process: null,
    }));
    const cluster = new LocalCluster(dir, nodes, options);
    // Should the test process die (or a hook time out before stop()), its nodes go with it.
    process.once("exit", () => cluster.killNow());
    try {
      await Promise.all(nodes.map((node) => cluster.startNode(node)));
      const addresses = nodes.map((node) => `127.0.0.1:${node.port}`);
      await promisify(execFile)("redis-cli", [
        "--cluster",
        "create",
        ...addresses,
        "--cluster-replicas",
        String(replicas),
        "--cluster-yes",
      ]);
      await cluster.waitUntilReady();
      if (replicas > 0) await cluster.waitForReplicas(masters * replicas);
      return cluster;
    } catch (error) {
      const logs = nodes.map((node) => `--- node ${node.port} (bus ${node.busPort}):\n${cluster.logTail(node)}`).join("\n");
      await cluster.stop();
      throw new Error(`the local Redis Cluster on ${cluster.urls} could not form: ${(error as Error).message}\n${logs}`);
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

  /**
   * Starts (or restarts, with its saved cluster config and data) a node, and resolves once it answers PING.
   * @throws Error with the tail of its log when it exits first
   */
  async startNode(node: ClusterNode): Promise<void> {
    if (node.process) return;
    const args = ["--port", String(node.port), "--cluster-port", String(node.busPort), "--bind", "127.0.0.1"];
    args.push("--cluster-enabled", "yes", "--cluster-config-file", `nodes-${node.port}.conf`);
    args.push("--cluster-node-timeout", String(this.options.nodeTimeoutMs ?? 2000));
    args.push("--dir", this.dir, "--dbfilename", `dump-${node.port}.rdb`, "--save", "");
    // A replica's full sync (at creation, and an old master rejoining) starts at once rather than after 5s.
    args.push("--repl-diskless-sync-delay", "0");
    if (this.options.appendOnly)
      args.push("--appendonly", "yes", "--appendfsync", "always", "--appenddirname", `appendonlydir-${node.port}`);
    else args.push("--appendonly", "no");
    const child = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
    const log = createWriteStream(this.logPath(node), { flags: "a" });
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    child.once("close", () => log.end());
    node.process = child;
    const exited = new Promise<never>((_, reject) => {
      child.once("error", reject);
      child.once("exit", (code) => reject(new Error(`redis-server on port ${node.port} exited with ${code}:\n${this.logTail(node)}`)));
    });
    const probe = new Redis(node.port, "127.0.0.1", { lazyConnect: true, retryStrategy: () => 50, maxRetriesPerRequest: null });
    probe.on("error", () => undefined);
    try {
      // While it loads its append-only file, a node answers LOADING: PING is answered once it is done.
      const answered = probe
        .connect()
        .catch(() => undefined)
        .then(() => probe.ping());
      await Promise.race([answered, exited]);
    } finally {
      exited.catch(() => undefined);
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

  /**
   * Resolves once every running node reports `cluster_state:fail` (a master is down and no replica
   * took over yet), but a replica that lags (stopped, it answers nothing).
   */
  async waitUntilFailing(): Promise<void> {
    for (const node of this.nodes.filter((n) => n.process && n !== this.lagging)) await this.untilState(node, "fail");
  }

  /** Drops every client connection of every running node (`CLIENT KILL TYPE normal`), as a network blip does. */
  async dropClients(): Promise<void> {
    for (const node of this.nodes.filter((n) => n.process && n !== this.lagging))
      await this.onNode(node, (redis) => redis.client("KILL", "TYPE", "normal"));
  }

  /** Resolves once every running node reports `cluster_state:ok`. */
  async waitUntilReady(): Promise<void> {
    for (const node of this.nodes.filter((n) => n.process)) await this.untilState(node, "ok");
  }

  /** The `host:port` of the master that serves `key`'s slot (from CLUSTER SLOTS, as a node sees it now). */
  async masterOf(key: string): Promise<string> {
    return this.onNode(this.live(), async (redis) => {
      const slot = Number(await redis.cluster("KEYSLOT", key));
      const ranges = (await redis.cluster("SLOTS")) as unknown as [number, number, [string, number, ...unknown[]], ...unknown[]][];
      const range = ranges.find(([from, to]) => slot >= from && slot <= to);
      if (!range) throw new Error(`no master serves slot ${slot}`);
      return `${range[2][0]}:${range[2][1]}`;
    });
  }

  /** The nodes that are masters now (as a live node sees them), each with its replicas and slot ranges. */
  async masters(): Promise<{ master: ClusterNode; replicas: ClusterNode[]; slots: readonly (readonly [number, number])[] }[]> {
    const lines = await this.clusterNodes();
    return lines
      .filter((line) => line.flags.includes("master") && line.slots.length > 0)
      .map((line) => ({
        master: this.nodeAt(line.port),
        replicas: lines.filter((r) => r.masterId === line.id).map((r) => this.nodeAt(r.port)),
        slots: line.slots,
      }));
  }

  /**
   * Fails a master over: kills it (SIGKILL), waits until its replica is promoted (elected, or
   * taking over at once) and every live node agrees again, then starts the old master again and
   * waits until it replicates the new one. With `replicaLagMs` or `whileReplicaLags`, the replica
   * is stopped before the kill, so what the master acknowledged meanwhile is lost with it.
   * @throws Error when the master has no replica, or the promotion or the rejoin does not happen in 30s
   */
  async failOver(master: ClusterNode, options: FailoverOptions = {}): Promise<Failover> {
    const served = (await this.masters()).find((m) => m.master === master);
    const replica = served?.replicas.find((r) => r.process);
    if (!served || !replica) throw new Error(`node ${master.port} is not a master with a live replica`);
    const lags = Boolean(options.replicaLagMs || options.whileReplicaLags);
    const lagFrom = lags ? Date.now() : null;
    if (lags) {
      // Stopped first, so it cannot reconnect; then its link is cut. What the master sent before is in the
      // replica's socket and is applied once it resumes; what the master acknowledges from now on is not.
      replica.process!.kill("SIGSTOP");
      this.lagging = replica;
      await this.onNode(master, (redis) => redis.client("KILL", "TYPE", "replica"));
    }
    let killedAt: number;
    try {
      await options.whileReplicaLags?.();
      await sleep(options.replicaLagMs ?? 0);
      await this.stopNode(master);
      killedAt = Date.now();
      await options.whileMasterDown?.();
    } finally {
      if (lags) replica.process?.kill("SIGCONT");
      this.lagging = null;
    }
    if (options.promotion === "takeover") await this.onNode(replica, (redis) => redis.cluster("FAILOVER", "TAKEOVER"));
    await this.until(`node ${replica.port} to be promoted in place of ${master.port}`, () => this.roleOf(replica, "master"));
    const promotedAt = Date.now();
    await this.waitUntilReady();
    const healedAt = Date.now();
    await this.startNode(master);
    await this.until(`node ${master.port} to rejoin as a replica of ${replica.port}`, () => this.roleOf(master, "slave"));
    return { killed: master, promoted: replica, slots: served.slots, lagFrom, killedAt, promotedAt, healedAt, rejoinedAt: Date.now() };
  }

  /** Waits until every replica of `master` has acknowledged all that the master wrote so far. */
  async replicated(master: ClusterNode): Promise<void> {
    const offset = (info: string) => Number(/master_repl_offset:(\d+)/.exec(info)?.[1]);
    const target = offset(await this.onNode(master, (redis) => redis.info("replication")));
    await this.until(`the replicas of ${master.port} to reach offset ${target}`, async () => {
      const info = await this.onNode(master, (redis) => redis.info("replication"));
      const acked = [...info.matchAll(/^slave\d+:.*offset=(\d+)/gm)].map((m) => Number(m[1]));
      return acked.length > 0 && acked.every((o) => o >= target);
    });
  }

  /** The node listening on `port` (as `masterOf` names it: `host:port`, or the port). */
  node(address: string | number): ClusterNode {
    return this.nodeAt(typeof address === "number" ? address : Number(address.split(":").pop()));
  }

  /** Stops every node and removes the directory. */
  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => this.stopNode(node)));
    await rm(this.dir, { recursive: true, force: true });
  }

  /** Kills every node at once, synchronously: for a test process exiting early. */
  killNow(): void {
    for (const node of this.nodes) node.process?.kill("SIGKILL");
  }

  /** Waits until the cluster knows `count` replicas and the link of each to its master is up. */
  private async waitForReplicas(count: number): Promise<void> {
    let replicas: ClusterNode[] = [];
    await this.until(`${count} replicas to join`, async () => {
      replicas = (await this.masters()).flatMap((m) => m.replicas);
      return replicas.length === count;
    });
    for (const replica of replicas) await this.until(`replica ${replica.port} to sync`, () => this.roleOf(replica, "slave"));
  }

  /** Whether a node says it is a master, or a replica whose link to its master is up. */
  private async roleOf(node: ClusterNode, role: "master" | "slave"): Promise<boolean> {
    if (!node.process) return false;
    const info = await this.onNode(node, (redis) => redis.info("replication")).catch(() => "");
    return info.includes(`role:${role}`) && (role === "master" || info.includes("master_link_status:up"));
  }

  private untilState(node: ClusterNode, state: "ok" | "fail"): Promise<void> {
    return this.until(`node ${node.port} to say cluster_state:${state}`, async () =>
      (await this.onNode(node, (redis) => redis.cluster("INFO"))).includes(`cluster_state:${state}`),
    );
  }

  /** Waits until `done` answers true; an error (a node down, loading) is a no. */
  private async until(what: string, done: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + WAIT_MS;
    while (!(await done().catch(() => false))) {
      if (Date.now() > deadline) throw new Error(`waited ${WAIT_MS / 1000}s for ${what} on ${this.urls}`);
      await sleep(50);
    }
  }

  private async clusterNodes(): Promise<NodeLine[]> {
    const text = (await this.onNode(this.live(), (redis) => redis.cluster("NODES"))) as string;
    return text
      .trim()
      .split("\n")
      .map((line) => {
        const [id, address, flags, masterId, , , , , ...slots] = line.split(" ");
        return {
          id: id!,
          port: Number(address!.split("@")[0]!.split(":")[1]),
          flags: flags!.split(","),
          masterId: masterId!,
          // Slot ranges ("0-5460", or one slot "42"); entries in brackets are slots being migrated.
          slots: slots
            .filter((s) => !s.startsWith("["))
            .map((s) => s.split("-").map(Number))
            .map(([from, to]) => [from!, to ?? from!] as const),
        };
      });
  }

  private nodeAt(port: number): ClusterNode {
    const node = this.nodes.find((n) => n.port === port);
    if (!node) throw new Error(`no node of this cluster listens on ${port}`);
    return node;
  }

  private live(): ClusterNode {
    const node = this.nodes.find((n) => n.process);
    if (!node) throw new Error(`no node of the cluster on ${this.urls} is running`);
    return node;
  }

  private async onNode<T>(node: ClusterNode, fn: (redis: Redis) => Promise<T>): Promise<T> {
    // A node that does not answer (stopped, or loading) fails the call rather than hang it.
    const redis = new Redis(node.port, "127.0.0.1", {
      maxRetriesPerRequest: 1,
      retryStrategy: () => null,
      connectTimeout: 2000,
      commandTimeout: 2000,
    });
    redis.on("error", () => undefined);
    try {
      return await fn(redis);
    } finally {
      redis.disconnect();
    }
  }

  private logPath(node: ClusterNode): string {
    return join(this.dir, `node-${node.port}.log`);
  }

  private logTail(node: ClusterNode): string {
    try {
      return readFileSync(this.logPath(node), "utf8").split("\n").slice(-15).join("\n");
    } catch {
      return "(no log)";
    }
  }
}
