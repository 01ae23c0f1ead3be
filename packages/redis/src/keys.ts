/**
 * The key layout of one partition of a namespace. Every key of partition `p`
 * starts with the partition's hash tag: `{ns}` when the namespace has one
 * partition (the layout Parkway always had), `{ns:p}` (p in decimal, 0 to
 * count - 1) when it has more. A partition lives in one Redis Cluster slot
 * and every script touches one partition. A key's kind comes right after the tag and the run id is the rest of
 * the key, so no user-chosen id can make two keys collide; a signal buffer key
 * also holds a name, so it spells the id's byte length first.
 *
 * The Lua scripts `listRuns-1.lua`, `startRun-4.lua`, `signalRun-4.lua`, `signalBuffers-1.lua`,
 * `includes/header.lua` (`tries:`) and `includes/history.lua` (`hist:`) derive the
 * `run:`, `status:`, `wfstatus:`, `fin:`, `wffin:`, `due`, `signames:`, `sig:`, `hist:` and `tries:` keys
 * (`includes/retention.lua` the `delivered:` key, `includes/header.lua` the `timers`, `wakes:` and `stale-wakes` keys) and the `finished` channel
 * (and `cancelRun-2.lua` the `cancels` channel) from the prefix in the same way: change them together. A status is one of
 * a fixed set of words without `:`, so in `wfstatus:<status>:<workflow>` (and `wffin:`) the
 * workflow name runs to the end of the key.
 */
import type { RunStatus } from "@parkway/core";

/**
 * The key layout this version reads and writes, recorded in the namespace's meta key when the
 * namespace is first used (`claimPartitions` refuses a namespace that holds runs of another).
 * Layout 1 kept each run's attempts (`att:`) and commit order (`order:`) in keys of their own
 * and its input and result in `data:`; layout 2 keeps the first two in the run's header and the
 * input and result in its outputs hash. Layout 3 stores no empty header field and keeps a far
 * timer in the timers index alone, not also in the due index. Layout 4 keeps a run's attempt
 * records in its outputs hash (`#tries:<key>`), not in a `tries:` hash of their own: a key less
 * per run. It reads a layout-2 or layout-3 run as it is ({@link TAKEN_OVER_LAYOUTS}), where a
 * version of layout 3 would read the records as outputs, and one of layout 2 would also find the
 * header corrupted and miss far timers.
 */
export const KEY_LAYOUT = 4;

/**
 * Earlier layouts whose runs this version reads as they are: it takes over such a namespace,
 * recording its own layout, which the earlier version then refuses when it starts.
 */
export const TAKEN_OVER_LAYOUTS: readonly number[] = [2, 3];

/**
 * How far ahead a parked run's timer may be and still get its delayed wake-up job at once. A
 * run parked until later is kept in its partition's `timers` index instead (`lua/includes/header.lua`
 * writes it, with the same horizon), and the workers move it to the wake-up queue once it
 * comes within the horizon: a run sleeping for days holds an index entry, not a job.
 */
export const TIMER_HORIZON_MS = 600_000;

/** Most partitions a namespace may have: each is one BullMQ worker (and its blocking connection) per worker process. */
export const MAX_PARTITIONS = 128;

/** The keys and channels of one partition of a namespace (of the whole namespace when it has one partition). */
export interface KeyLayout {
  /** `{ns}:` or `{ns:p}:`, passed to scripts that derive keys (indexes, the finish channel). */
  readonly prefix: string;
  /** Which partition this is (0 when the namespace has one). */
  readonly partition: number;
  /**
   * Run header: hash of plain fields (waits and error as JSON) and, per step, `a:<key>` its
   * attempts (then ` <version>` once committed: the commit order; see `lua/includes/header.lua`
   * and `parseHeader` in replies.ts).
   */
  header(id: string): string;
  /**
   * Committed outputs: hash, one field per commit key, the run's input (`#input`) and result
   * (`#result`), and each step's attempt records (`#tries:<key>`, a JSON array, see
   * `lua/includes/attempts.lua`): names no commit key has (see `lua/includes/header.lua`).
   */
  outputs(id: string): string;
  /** Signal buffer of (run, name): list, oldest first. Deleted when the run finishes. */
  signals(id: string, name: string): string;
  /** Names of every signal buffered for the run: set, so the buffers can be deleted when it finishes. */
  signalNames(id: string): string;
  /** Delivery ids of signals the run was sent: hash of delivery id to how the signal was delivered (expiring). */
  deliveries(id: string): string;
  /** Ids of the run's delayed wake-up jobs: set, kept by the wake-up queue (expiring); moved to `staleWakes` when the run ends. */
  wakes(id: string): string;
  /** Ids of the delayed wake-up jobs of runs that finished or went: set, emptied by the workers' sweep (which removes the jobs). */
  readonly staleWakes: string;
  /** Latest heartbeat details of each step: hash, field per commit key, and `#at:<key>` its store time. */
  progress(id: string): string;
  /** The run's last events (core's `HISTORY_LIMIT`), oldest first: list of JSON `RunEvent`s. */
  history(id: string): string;
  /**
   * The attempt records of a run written by key layout 2 or 3: hash, field per commit key, a JSON
   * array. This layout keeps them in {@link KeyLayout.outputs}; such a run's old hash is read where
   * the outputs hash has no record, and goes with the run.
   */
  oldAttemptRecords(id: string): string;
  /** Runs of one status: sorted set scored by createdAt. The seven together hold every run (for `list` without a status). */
  status(status: RunStatus): string;
  /** Runs of one workflow in one status: sorted set scored by createdAt. The workflow's seven together hold its runs. */
  workflowStatus(name: string, status: RunStatus): string;
  /** Finished runs of one finished status: sorted set scored by finishedAt (for `list` with a finish range). */
  finishStatus(status: RunStatus): string;
  /** Finished runs of one workflow in one finished status: sorted set scored by finishedAt. */
  workflowFinishStatus(name: string, status: RunStatus): string;
  /** Runs that next need a worker, far timers aside: sorted set scored by dueAt (read by the sweeper). */
  readonly due: string;
  /** Parked runs due beyond {@link TIMER_HORIZON_MS}, which have no due entry or wake-up job yet: sorted set scored by dueAt. */
  readonly timers: string;
  /** Retention settings: hash of "<status>" and "<status>:<workflow>" to ms or "forever" (`includes/retention.lua`). */
  readonly retention: string;
  /** Finished runs by when their keys expire: sorted set, member `[id, status, workflow]` JSON (trimmed by the sweep). */
  readonly expiring: string;
  /** Pub/sub channel: `[id, status]` JSON for every run that finishes. */
  readonly finished: string;
  /** Pub/sub channel: the id of every running run a cancel is asked of. */
  readonly cancels: string;
  /** Schedule: hash of state (JSON), input, version, dueAt, createdAt, updatedAt. In the partition of the schedule's id. */
  schedule(id: string): string;
  /** Schedules of the partition: sorted set, score 0, by id. */
  readonly schedules: string;
  /** Schedules that next need a worker (a tick, a lapsed mark): sorted set scored by dueAt. */
  readonly scheduleDue: string;
}

/** The hash tag of partition `partition` of `partitions`, without braces: `ns`, or `ns:p` when there are several. */
export function partitionTag(namespace: string, partition = 0, partitions = 1): string {
  return partitions === 1 ? namespace : `${namespace}:${partition}`;
}

/**
 * The namespace's meta key, a hash under the tag `{ns}` (the one partition's slot, or a slot of its
 * own when there are several): `partitions` is the count fixed when the namespace was first used.
 */
export function namespaceMetaKey(namespace: string): string {
  return `{${namespace}}:meta`;
}

/**
 * The partition of run `id`: FNV-1a (32 bits) of the id's UTF-8 bytes, modulo `partitions`.
 * Stable across processes, machines and versions, so any client finds a run from its id alone:
 * changing this function moves every run, so it never changes.
 */
export function partitionOf(id: string, partitions: number): number {
  if (partitions === 1) return 0;
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(id, "utf8")) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return hash % partitions;
}

/** The key layout of partition `partition` of `partitions` of `namespace` (the whole namespace by default). */
export function keyLayout(namespace: string, partition = 0, partitions = 1): KeyLayout {
  const prefix = `{${partitionTag(namespace, partition, partitions)}}:`;
  return {
    prefix,
    partition,
    header: (id) => `${prefix}run:${id}`,
    outputs: (id) => `${prefix}out:${id}`,
    signals: (id, name) => `${prefix}sig:${Buffer.byteLength(id)}:${id}:${name}`,
    signalNames: (id) => `${prefix}signames:${id}`,
    deliveries: (id) => `${prefix}delivered:${id}`,
    wakes: (id) => `${prefix}wakes:${id}`,
    staleWakes: `${prefix}stale-wakes`,
    progress: (id) => `${prefix}progress:${id}`,
    history: (id) => `${prefix}hist:${id}`,
    oldAttemptRecords: (id) => `${prefix}tries:${id}`,
    status: (status) => `${prefix}status:${status}`,
    workflowStatus: (name, status) => `${prefix}wfstatus:${status}:${name}`,
    finishStatus: (status) => `${prefix}fin:${status}`,
    workflowFinishStatus: (name, status) => `${prefix}wffin:${status}:${name}`,
    due: `${prefix}due`,
    timers: `${prefix}timers`,
    retention: `${prefix}retention`,
    expiring: `${prefix}expiring`,
    finished: `${prefix}finished`,
    cancels: `${prefix}cancels`,
    // listSchedules-1.lua derives the schedule key from the prefix in the same way.
    schedule: (id) => `${prefix}sched:${id}`,
    schedules: `${prefix}schedules`,
    scheduleDue: `${prefix}sched-due`,
  };
}

/**
 * The namespace's worker registry, in one place under the tag `{ns}` whatever the partition
 * count: `workers` is a sorted set of worker ids scored by when their registration lapses (store
 * time), and `worker(id)` a hash per worker (`info` JSON, `startedAt`, `heartbeatAt`) that expires
 * on its own at that time. Their kinds (`workers`, `worker:`) are no run key's. `listWorkers-1.lua`
 * derives each worker's hash from `workerPrefix`: change them together.
 */
export function workerRegistryKeys(namespace: string): {
  readonly workers: string;
  worker(id: string): string;
  readonly workerPrefix: string;
} {
  const workerPrefix = `{${namespace}}:worker:`;
  return { workers: `{${namespace}}:workers`, workerPrefix, worker: (id) => `${workerPrefix}${id}` };
}
