/**
 * The faults, injected while the load runs: worker processes killed with
 * SIGKILL (and restarted), redis-server killed with SIGKILL (and restarted on
 * the same port and AOF), every client connection dropped (`CLIENT KILL`),
 * wake-up jobs deleted and duplicated, and a worker frozen with SIGSTOP until
 * its lease expired and its runs were taken over, then thawed (a zombie), and
 * workers sent SIGTERM mid-load (they drain and exit; restarted after).
 *
 * Besides kills at random moments, hunts aim kills at moments that matter,
 * found in the ledger as they happen (see `Prey`).
 */
import { Queue, type Job } from "bullmq";
import { Redis } from "ioredis";
import { keyLayout } from "@parkway/redis";
import { queuePrefix, WAKE_QUEUE, type WakeJobData } from "../../src/index.js";
import type { WorkerFleet } from "./fleet.js";
import { LedgerTail, type Execution } from "./ledger.js";
import type { RedisServer } from "./redis-server.js";

/**
 * What a hunt kills, the moment the ledger shows it:
 * - `mapElement`: a worker running an element of a map (the third or a later one, so some are committed);
 * - `compensation`: a worker undoing a step of a failed saga;
 * - `childStart`: a parent's worker, right after it started the parent's child: when the task
 *   beside the child step began, once the child exists (before the parent parks on it);
 * - `slotHolder`: a worker running a step of a run holding a concurrency slot.
 */
export const PREY = ["mapElement", "compensation", "childStart", "slotHolder"] as const;
export type Prey = (typeof PREY)[number];

/** The count each hunt's kills add to. */
const HUNT_COUNTS = {
  mapElement: "killedInMap",
  compensation: "killedInCompensation",
  childStart: "killedAfterStartingChild",
  slotHolder: "killedHoldingSlot",
} as const;

/** Whether an execution that just began is `prey`. */
function isPrey(prey: Prey, e: Execution): boolean {
  switch (prey) {
    case "mapElement":
      return e.run.startsWith("map-") && /^each\[[2-5]\]\/work$/.test(e.key);
    case "compensation":
      return e.key.endsWith("#compensate");
    case "slotHolder":
      return e.run.startsWith("limited-");
    case "childStart":
      return e.run.startsWith("parent-") && e.key === "side/r" && e.attempt === 1;
  }
}

export interface ChaosOptions {
  readonly redis: RedisServer;
  readonly fleet: WorkerFleet;
  readonly namespace: string;
  readonly leaseMs: number;
  /** Mean time between worker kills. */
  readonly workerKillEveryMs: number;
  /** Mean time between graceful stops (SIGTERM) of a worker. */
  readonly workerTermEveryMs: number;
  /** When (ms after the start) to kill and restart redis-server. */
  readonly redisRestartsAt: readonly number[];
  /** When (ms after the start) to freeze a worker past its lease. */
  readonly zombiesAt: readonly number[];
  readonly connectionKillEveryMs: number;
  readonly jobTamperEveryMs: number;
  /** Mean time between hunts (each for the kinds of prey killed least so far); none when absent. */
  readonly huntEveryMs?: number;
  /** Where the workers' ledger files are (read by the hunts). */
  readonly ledgerDir?: string;
}

/** When Redis went down and came back, and when every subscriber was dropped (wall clock). */
export interface RedisEvent {
  readonly kind: "down" | "up" | "subscribersDropped";
  readonly at: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const pick = <T>(items: readonly T[]): T | undefined => items[Math.floor(Math.random() * items.length)];
const around = (ms: number) => ms * (0.5 + Math.random());

export class Chaos {
  readonly counts = {
    workerKills: 0,
    workerTerms: 0,
    redisRestarts: 0,
    connectionKills: 0,
    clientsDropped: 0,
    jobsDeleted: 0,
    jobsDuplicated: 0,
    zombies: 0,
    faultErrors: 0,
    killedInMap: 0,
    killedInCompensation: 0,
    killedAfterStartingChild: 0,
    killedHoldingSlot: 0,
    /** Hunts that found no prey they could kill in time (none began, or its worker was the last live one). */
    huntsMissed: 0,
    /** Prey found while killing it would have left no other live worker. */
    preySpared: 0,
  };
  /** Redis restarts and subscriber drops, in order. */
  readonly redisEvents: RedisEvent[] = [];
  private stopping = false;
  private readonly admin: Redis;
  private readonly queue: Queue<WakeJobData>;
  private readonly tasks: Promise<void>[] = [];
  /** Serialises faults that touch redis-server, so a restart never overlaps a CLIENT KILL. */
  private redisBusy: Promise<void> = Promise.resolve();

  constructor(private readonly o: ChaosOptions) {
    this.admin = new Redis(o.redis.url, { maxRetriesPerRequest: 1 });
    this.admin.on("error", () => undefined);
    const queueRedis = new Redis(o.redis.url, { maxRetriesPerRequest: null });
    queueRedis.on("error", () => undefined);
    this.queue = new Queue<WakeJobData>(WAKE_QUEUE, { connection: queueRedis, prefix: queuePrefix(o.namespace) });
    this.queue.on("error", () => undefined);
  }

  /** Starts every fault loop. */
  start(): void {
    const began = Date.now();
    this.tasks.push(this.every(this.o.workerKillEveryMs, () => this.killWorker()));
    this.tasks.push(this.every(this.o.workerTermEveryMs, () => this.terminateWorker()));
    this.tasks.push(this.every(this.o.connectionKillEveryMs, () => this.dropConnections()));
    this.tasks.push(this.every(this.o.jobTamperEveryMs, () => this.tamperJobs()));
    this.tasks.push(this.at(began, this.o.redisRestartsAt, () => this.restartRedis()));
    this.tasks.push(this.at(began, this.o.zombiesAt, () => this.zombie()));
    if (this.o.huntEveryMs && this.o.ledgerDir) {
      const tail = new LedgerTail(this.o.ledgerDir);
      this.tasks.push(this.every(this.o.huntEveryMs, () => this.hunt(tail)));
    }
  }

  /** Stops injecting; resolves once the last fault in progress is over (Redis up, zombies thawed). */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.tasks);
    await this.queue.close().catch(() => undefined);
    this.admin.disconnect();
  }

  private async every(meanMs: number, fault: () => Promise<void>): Promise<void> {
    while (!this.stopping) {
      await sleep(around(meanMs));
      if (!this.stopping) await fault().catch(() => void this.counts.faultErrors++);
    }
  }

  private async at(began: number, times: readonly number[], fault: () => Promise<void>): Promise<void> {
    for (const t of times) {
      while (!this.stopping && Date.now() - began < t) await sleep(100);
      if (this.stopping) return;
      await fault().catch(() => void this.counts.faultErrors++);
    }
  }

  /** The slots of live workers, neither frozen nor stopping. */
  private liveSlots(): number[] {
    const { fleet } = this.o;
    return [...Array(fleet.size).keys()].filter((i) => fleet.isAlive(i) && !fleet.isFrozen(i) && !fleet.isStopping(i));
  }

  /** SIGKILL a live, unfrozen worker; restart it a moment later. Keeps at least one other worker alive. */
  private async killWorker(): Promise<void> {
    const live = this.liveSlots();
    const victim = live.length >= 2 ? pick(live) : undefined;
    if (victim === undefined) return;
    this.counts.workerKills++;
    await this.killAndRestart(victim);
  }

  private async killAndRestart(slot: number): Promise<void> {
    await this.o.fleet.kill(slot);
    await sleep(300 + Math.random() * 1200);
    await this.o.fleet.restart(slot);
  }

  /**
   * Waits (up to 10s) for the ledger to show prey beginning, of the kinds killed least so far, and
   * SIGKILLs that worker at once (when at least one other is live); restarts it a moment later.
   */
  private async hunt(tail: LedgerTail): Promise<void> {
    tail.poll(); // what began before the hunt is no prey
    const deadline = Date.now() + 10_000;
    while (!this.stopping && Date.now() < deadline) {
      const fewest = Math.min(...PREY.map((p) => this.counts[HUNT_COUNTS[p]]));
      const wanted = PREY.filter((p) => this.counts[HUNT_COUNTS[p]] === fewest);
      for (const e of tail.poll()) {
        const prey = wanted.find((p) => isPrey(p, e));
        const slot = prey === undefined ? undefined : this.o.fleet.slotOf(e.pid);
        if (prey === undefined || slot === undefined || !this.liveSlots().includes(slot)) continue;
        if (this.liveSlots().length < 2) {
          this.counts.preySpared++;
          continue;
        }
        if (prey === "childStart" && !(await this.childStarted(`${e.run}/kid/kid`))) continue;
        tail.forgetProcess(e.pid);
        this.counts[HUNT_COUNTS[prey]]++;
        return this.killAndRestart(slot);
      }
      await sleep(20);
    }
    this.counts.huntsMissed++;
  }

  /** Waits (up to 100ms) for child run `id` to exist. */
  private async childStarted(id: string): Promise<boolean> {
    const header = keyLayout(this.o.namespace).header(id);
    for (let tries = 0; tries < 50; tries++) {
      if ((await this.admin.exists(header)) === 1) return true;
      await sleep(2);
    }
    return false;
  }

  /** SIGTERM a live, unfrozen worker mid-load; restart it once it has drained and exited. */
  private async terminateWorker(): Promise<void> {
    const { fleet } = this.o;
    const live = this.liveSlots();
    const victim = live.length >= 2 ? pick(live) : undefined;
    if (victim === undefined) return;
    await fleet.terminate(victim);
    this.counts.workerTerms++;
    await fleet.restart(victim);
  }

  /** SIGKILL redis-server mid-load, then start it again on the same port and AOF. */
  private restartRedis(): Promise<void> {
    return this.exclusive(async () => {
      this.redisEvents.push({ kind: "down", at: Date.now() });
      await this.o.redis.kill();
      await sleep(300 + Math.random() * 700);
      await this.o.redis.launch();
      this.redisEvents.push({ kind: "up", at: Date.now() });
      this.counts.redisRestarts++;
    });
  }

  /** Drops every client connection (the workers', the client's, BullMQ's); now and then the subscribers too. */
  private dropConnections(): Promise<void> {
    return this.exclusive(async () => {
      const type = Math.random() < 0.25 ? "pubsub" : "normal";
      if (type === "pubsub") this.redisEvents.push({ kind: "subscribersDropped", at: Date.now() });
      const dropped = (await this.admin.call("CLIENT", "KILL", "TYPE", type, "SKIPME", "yes")) as number;
      this.counts.connectionKills++;
      this.counts.clientsDropped += Number(dropped);
    });
  }

  /** Deletes some waiting or delayed wake-up jobs, and adds copies of others under new ids. */
  private async tamperJobs(): Promise<void> {
    const jobs = (await this.queue.getJobs(["wait", "delayed"], 0, 40)).filter((j): j is Job<WakeJobData> => Boolean(j));
    for (const job of jobs.sort(() => Math.random() - 0.5).slice(0, 4)) {
      const removed = await job.remove().then(
        () => true,
        () => false,
      );
      if (removed) this.counts.jobsDeleted++;
    }
    for (const job of jobs.slice(0, 4)) {
      const delay = Math.random() < 0.5 ? 0 : Math.floor(Math.random() * 3000);
      await this.queue.add("advance", job.data, { jobId: `dup-${Math.random().toString(36).slice(2)}`, delay });
      this.counts.jobsDuplicated++;
    }
  }

  /** SIGSTOP a worker for twice its lease and more (its runs are taken over), then SIGCONT it. */
  private async zombie(): Promise<void> {
    const { fleet } = this.o;
    const live = this.liveSlots();
    const victim = pick(live);
    if (victim === undefined || live.length < 2) return;
    fleet.freeze(victim);
    this.counts.zombies++;
    await sleep(this.o.leaseMs * 2 + 1500);
    fleet.thaw(victim);
  }

  private exclusive(fault: () => Promise<void>): Promise<void> {
    const next = this.redisBusy.then(fault);
    this.redisBusy = next.catch(() => undefined);
    return next;
  }
}
