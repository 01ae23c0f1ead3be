/**
 * The worker registry of a namespace: each `WorkflowWorker` registers what it
 * serves when it starts, renews that with a heartbeat, and deregisters on
 * `close()`. A registration lapses on its own a few heartbeats after the last
 * one, so a killed worker disappears without anyone cleaning up after it.
 * It lives under the tag `{ns}` (keys.ts, `workerRegistryKeys`), one place
 * whatever the partition count. Costs one small write per worker per
 * heartbeat and nothing per run; listing reads O(live workers).
 */
import type { RegisteredWorkflow, WorkerDirectory, WorkerInfo } from "@parkway/core";
import type { RedisConnection } from "./connection.js";
import { workerRegistryKeys } from "./keys.js";
import { assertNamespace } from "./namespace.js";
import { asArray, text } from "./replies.js";
import { runScript, SCRIPTS } from "./scripts.js";

/** What a worker registers: all of {@link WorkerInfo} but the times, which the store's clock sets. */
export type WorkerRegistration = Omit<WorkerInfo, "startedAt" | "heartbeatAt">;

export class RedisWorkerRegistry implements WorkerDirectory {
  private readonly keys: ReturnType<typeof workerRegistryKeys>;

  constructor(
    private readonly redis: RedisConnection,
    namespace: string,
  ) {
    assertNamespace(namespace);
    this.keys = workerRegistryKeys(namespace);
  }

  /**
   * Registers `worker`, or renews its registration, until `ttlMs` from now (store time).
   * `startedAt` is what the first call answered (null for the first call), so a registration
   * that lapsed while Redis was away comes back with the worker's own start time.
   * @returns the store's clock: the heartbeat's time
   */
  async heartbeat(worker: WorkerRegistration, ttlMs: number, startedAt: number | null): Promise<number> {
    const { id, ...info } = worker;
    const reply = asArray(
      await runScript(
        this.redis,
        SCRIPTS.registerWorker,
        [this.keys.workers, this.keys.worker(id)],
        [id, JSON.stringify(info), Math.max(1, Math.round(ttlMs)), startedAt === null ? "" : startedAt],
      ),
    );
    return Number(text(reply[1]));
  }

  /** Drops worker `id`'s registration at once (a worker that closes). */
  async deregister(id: string): Promise<void> {
    await this.redis.multi().zrem(this.keys.workers, id).del(this.keys.worker(id)).exec();
  }

  /** The live workers, in no particular order. An entry another program wrote in another shape is left out. */
  async list(): Promise<WorkerInfo[]> {
    const reply = asArray(await runScript(this.redis, SCRIPTS.listWorkers, [this.keys.workers], [this.keys.workerPrefix]));
    const workers: WorkerInfo[] = [];
    for (const entry of reply.slice(2)) {
      const [id, info, startedAt, heartbeatAt] = asArray(entry).map((field) => (field === null ? null : text(field)));
      const parsed = parseWorker(id ?? null, info ?? null, Number(startedAt), Number(heartbeatAt));
      if (parsed) workers.push(parsed);
    }
    return workers;
  }
}

/** A registration as read back, or null when it is not one this version wrote. */
function parseWorker(id: string | null, info: string | null, startedAt: number, heartbeatAt: number): WorkerInfo | null {
  if (id === null || info === null || !Number.isFinite(startedAt) || !Number.isFinite(heartbeatAt)) return null;
  let value: Partial<Record<keyof WorkerInfo, unknown>>;
  try {
    value = JSON.parse(info) as typeof value;
  } catch {
    return null;
  }
  const { host, pid, namespace, partitions, workflows, concurrency, stepConcurrency, version } = value ?? {};
  const isWorkflow = (w: unknown): w is RegisteredWorkflow =>
    typeof (w as RegisteredWorkflow)?.name === "string" && typeof (w as RegisteredWorkflow).hash === "string";
  if (
    typeof host !== "string" ||
    typeof pid !== "number" ||
    (typeof namespace !== "string" && namespace !== null) ||
    !Array.isArray(partitions) ||
    !partitions.every((p) => typeof p === "number") ||
    !Array.isArray(workflows) ||
    !workflows.every(isWorkflow) ||
    typeof concurrency !== "number" ||
    typeof stepConcurrency !== "number" ||
    typeof version !== "string"
  ) {
    return null;
  }
  return {
    id,
    host,
    pid,
    namespace,
    partitions,
    workflows: workflows.map((w) => ({ name: w.name, hash: w.hash })),
    concurrency,
    stepConcurrency,
    startedAt,
    heartbeatAt,
    version,
  };
}
