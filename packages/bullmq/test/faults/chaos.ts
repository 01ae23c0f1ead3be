/**
 * The faults, injected while the load runs: worker processes killed with
 * SIGKILL (and restarted), redis-server killed with SIGKILL (and restarted on
 * the same port and AOF), every client connection dropped (`CLIENT KILL`),
 * wake-up jobs deleted and duplicated, and a worker frozen with SIGSTOP until
 * its lease expired and its runs were taken over, then thawed (a zombie), and
 * workers sent SIGTERM mid-load (they drain and exit; restarted after).
 */
import { Queue, type Job } from "bullmq";
import { Redis } from "ioredis";
import { queuePrefix, WAKE_QUEUE, type WakeJobData } from "../../src/index.js";
import type { WorkerFleet } from "./fleet.js";
import type { RedisServer } from "./redis-server.js";

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
  };
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

  /** SIGKILL a live, unfrozen worker; restart it a moment later. Keeps at least one other worker alive. */
  private async killWorker(): Promise<void> {
    const { fleet } = this.o;
    const slots = [...Array(fleet.size).keys()];
    const live = slots.filter((i) => fleet.isAlive(i) && !fleet.isFrozen(i) && !fleet.isStopping(i));
    const victim = live.length >= 2 ? pick(live) : undefined;
    if (victim === undefined) return;
    await fleet.kill(victim);
    this.counts.workerKills++;
    await sleep(300 + Math.random() * 1200);
    await fleet.restart(victim);
  }

  /** SIGTERM a live, unfrozen worker mid-load; restart it once it has drained and exited. */
  private async terminateWorker(): Promise<void> {
    const { fleet } = this.o;
    const live = [...Array(fleet.size).keys()].filter((i) => fleet.isAlive(i) && !fleet.isFrozen(i) && !fleet.isStopping(i));
    const victim = live.length >= 2 ? pick(live) : undefined;
    if (victim === undefined) return;
    await fleet.terminate(victim);
    this.counts.workerTerms++;
    await fleet.restart(victim);
  }

  /** SIGKILL redis-server mid-load, then start it again on the same port and AOF. */
  private restartRedis(): Promise<void> {
    return this.exclusive(async () => {
      await this.o.redis.kill();
      await sleep(300 + Math.random() * 700);
      await this.o.redis.launch();
      this.counts.redisRestarts++;
    });
  }

  /** Drops every client connection (the workers', the client's, BullMQ's); now and then the subscribers too. */
  private dropConnections(): Promise<void> {
    return this.exclusive(async () => {
      const type = Math.random() < 0.25 ? "pubsub" : "normal";
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
    const live = [...Array(fleet.size).keys()].filter((i) => fleet.isAlive(i) && !fleet.isFrozen(i) && !fleet.isStopping(i));
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
