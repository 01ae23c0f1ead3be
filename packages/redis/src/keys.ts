/**
 * The key layout of one namespace. Every key starts with the hash tag `{ns}`,
 * so a namespace lives in one Redis Cluster slot and every script touches one
 * slot. A key's kind comes right after the tag and the run id is the rest of
 * the key, so no user-chosen id can make two keys collide; a signal buffer key
 * also holds a name, so it spells the id's byte length first.
 *
 * The Lua scripts `listRuns-1.lua`, `startRun-7.lua`, `signalRun-4.lua` and
 * `includes/header.lua` derive the `run:`, `att:`, `status:`, `wfstatus:`,
 * `wf:`, `all`, `due`, `signames:` and `sig:` keys and the `finished` channel
 * (and `cancelRun-2.lua` the `cancels` channel) from the prefix in the same way: change them together. A status is one of
 * a fixed set of words without `:`, so in `wfstatus:<status>:<workflow>` the
 * workflow name runs to the end of the key.
 */
import type { RunStatus } from "@parkway/core";

/** The keys and channels of one namespace. */
export interface KeyLayout {
  /** `{ns}:`, passed to scripts that derive keys (indexes, the finish channel). */
  readonly prefix: string;
  /** Run header: hash of plain fields (waits and error as JSON). */
  header(id: string): string;
  /** Attempts per commit key: hash, one field per key (kept apart so a commit writes one field). */
  attempts(id: string): string;
  /** Committed outputs: hash, one field per commit key. */
  outputs(id: string): string;
  /** Input and result: hash with fields `input` and `result`. */
  data(id: string): string;
  /** Signal buffer of (run, name): list, oldest first. Deleted when the run finishes. */
  signals(id: string, name: string): string;
  /** Names of every signal buffered for the run: set, so the buffers can be deleted when it finishes. */
  signalNames(id: string): string;
  /** Delivery ids of signals the run was sent: hash of delivery id to how the signal was delivered (expiring). */
  deliveries(id: string): string;
  /** Runs of one status: sorted set scored by createdAt. */
  status(status: RunStatus): string;
  /** Runs of one workflow: sorted set scored by createdAt. */
  workflow(name: string): string;
  /** Runs of one workflow in one status: sorted set scored by createdAt (for `list` with both filters). */
  workflowStatus(name: string, status: RunStatus): string;
  /** Every run: sorted set scored by createdAt. */
  readonly all: string;
  /** Runs that next need a worker: sorted set scored by dueAt (read by the sweeper). */
  readonly due: string;
  /** Retention settings: hash of "<status>" and "<status>:<workflow>" to ms or "forever" (`includes/retention.lua`). */
  readonly retention: string;
  /** Finished runs by when their keys expire: sorted set, member `[id, status, workflow]` JSON (trimmed by the sweep). */
  readonly expiring: string;
  /** Pub/sub channel: `[id, status]` JSON for every run that finishes. */
  readonly finished: string;
  /** Pub/sub channel: the id of every running run a cancel is asked of. */
  readonly cancels: string;
}

/** The key layout of `namespace`. */
export function keyLayout(namespace: string): KeyLayout {
  const prefix = `{${namespace}}:`;
  return {
    prefix,
    header: (id) => `${prefix}run:${id}`,
    attempts: (id) => `${prefix}att:${id}`,
    outputs: (id) => `${prefix}out:${id}`,
    data: (id) => `${prefix}data:${id}`,
    signals: (id, name) => `${prefix}sig:${Buffer.byteLength(id)}:${id}:${name}`,
    signalNames: (id) => `${prefix}signames:${id}`,
    deliveries: (id) => `${prefix}delivered:${id}`,
    status: (status) => `${prefix}status:${status}`,
    workflow: (name) => `${prefix}wf:${name}`,
    workflowStatus: (name, status) => `${prefix}wfstatus:${status}:${name}`,
    all: `${prefix}all`,
    due: `${prefix}due`,
    retention: `${prefix}retention`,
    expiring: `${prefix}expiring`,
    finished: `${prefix}finished`,
    cancels: `${prefix}cancels`,
  };
}
