import { assertWellFormed, integerInRange, ValidationError } from "@parkway/core";
import { isCluster, type RedisConnection } from "./connection.js";
import { KEY_LAYOUT, keyLayout, MAX_PARTITIONS, namespaceMetaKey, TAKEN_OVER_LAYOUTS } from "./keys.js";
import type { RunStatus } from "@parkway/core";
import { SCRIPTS, runScript } from "./scripts.js";

/**
 * @throws ValidationError unless `namespace` is a non-empty, well-formed string without `}`: every key
 * starts with the hash tag `{namespace}`, and a `}` would end the tag early, so the keys of namespace
 * `a}:b` would start with `{a}:` and be read (and dropped) as namespace `a`'s.
 */
export function assertNamespace(namespace: unknown): asserts namespace is string {
  if (typeof namespace !== "string" || namespace === "") {
    throw new ValidationError(`namespace must be a non-empty string, got ${namespace === "" ? '""' : typeof namespace}`);
  }
  assertWellFormed(namespace, "namespace");
  if (namespace.includes("}")) throw new ValidationError(`namespace ${JSON.stringify(namespace)} must not contain "}"`);
}

/** `text` as a SCAN MATCH pattern that matches only itself: glob metacharacters escaped. */
function globLiteral(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/** @throws ValidationError naming `partitions` unless it is absent (1) or an integer from 1 to {@link MAX_PARTITIONS} */
export function partitionsOption(partitions: unknown): number {
  return integerInRange(partitions, "partitions", 1, 1, MAX_PARTITIONS);
}

/** The partition count recorded for `namespace`: 1 when none is (a namespace never used, or used before counts were recorded). */
export async function recordedPartitions(redis: RedisConnection, namespace: string): Promise<number> {
  const recorded = await redis.hget(namespaceMetaKey(namespace), "partitions");
  return recorded === null ? 1 : parseCount(namespace, recorded);
}

/**
 * Fixes the partition count of `namespace` at `partitions` if it has none yet (atomically: of two
 * first users, one wins), and checks that it is `partitions`. Also refuses a namespace whose keys
 * would be another's: partition `p` of namespace `ns` shares the hash tag `{ns:p}` with the
 * one-partition namespace `ns:p`, so whichever of the two is used second is refused (both
 * recorded their counts; a namespace used before counts were recorded is not seen).
 * @throws ValidationError naming both counts when the namespace was fixed at another count
 */
export async function claimPartitions(redis: RedisConnection, namespace: string, partitions: number): Promise<void> {
  // The neighbours first, reading only: a refused namespace must not leave its meta key in another's tag.
  const parent = /^(.*):(0|[1-9]\d*)$/.exec(namespace);
  if (parent?.[1] && Number(parent[2]) < (await recordedPartitions(redis, parent[1]).catch(() => 1))) {
    throw new ValidationError(
      `namespace "${namespace}" shares its keys with partition ${parent[2]} of namespace "${parent[1]}": choose another name`,
      { namespace },
    );
  }
  for (let p = 0; p < partitions && partitions > 1; p++) {
    if ((await redis.exists(namespaceMetaKey(`${namespace}:${p}`))) === 1) {
      throw new ValidationError(
        `partition ${p} of namespace "${namespace}" would share its keys with namespace "${namespace}:${p}": choose another name`,
        { namespace },
      );
    }
  }
  // `{ns}:all`, the index of every run that namespaces written before their meta key kept: such a namespace has one partition.
  const keys = [namespaceMetaKey(namespace), `${keyLayout(namespace).prefix}all`];
  const reply = (await runScript(redis, SCRIPTS.namespaceMeta, keys, [partitions, KEY_LAYOUT])) as [number, Buffer, Buffer | null];
  const recorded = parseCount(namespace, reply[1].toString());
  if (recorded !== partitions) {
    throw new ValidationError(
      `namespace "${namespace}" has ${recorded} partition${recorded === 1 ? "" : "s"} (fixed when it was first used), ` +
        `but this was configured with partitions: ${partitions}; give partitions: ${recorded}`,
      { namespace, recorded, configured: partitions },
    );
  }
  await checkLayout(redis, namespace, recorded, reply[2] === null ? null : reply[2].toString());
}

const STATUSES: readonly RunStatus[] = ["pending", "running", "parked", "paused", "completed", "failed", "cancelled"];

/**
 * Refuses a namespace whose runs are stored in another key layout than {@link KEY_LAYOUT}: read
 * with this one, they would look corrupted or half gone. A namespace of a layout this one reads as
 * it is ({@link TAKEN_OVER_LAYOUTS}) is taken over: it records this layout. A namespace with no
 * layout recorded was first used by a version that recorded none (layout 1): it gets this layout
 * only when it holds no run (no status index in any partition).
 * @throws ValidationError naming both layouts
 */
async function checkLayout(redis: RedisConnection, namespace: string, partitions: number, layout: string | null): Promise<void> {
  if (layout === String(KEY_LAYOUT)) return;
  if (layout !== null && TAKEN_OVER_LAYOUTS.map(String).includes(layout)) {
    await redis.hset(namespaceMetaKey(namespace), "layout", KEY_LAYOUT);
    return;
  }
  const refuse = (found: string) =>
    new ValidationError(
      `namespace "${namespace}" holds runs stored in key layout ${found}, and this version of Parkway reads layout ${KEY_LAYOUT}: ` +
        (Number(found) > KEY_LAYOUT
          ? "upgrade Parkway"
          : "finish its runs with the version that started them, or use a new namespace (dropNamespace removes the old one)"),
      { namespace, recorded: found, configured: KEY_LAYOUT },
    );
  if (layout !== null) throw refuse(layout);
  for (let p = 0; p < partitions; p++) {
    const k = keyLayout(namespace, p, partitions);
    if ((await redis.exists(...STATUSES.map((status) => k.status(status)))) > 0) throw refuse("1");
  }
  await redis.hset(namespaceMetaKey(namespace), "layout", KEY_LAYOUT);
}

function parseCount(namespace: string, recorded: string): number {
  const count = Number(recorded);
  if (!/^[1-9]\d*$/.test(recorded) || count > MAX_PARTITIONS) {
    throw new ValidationError(
      `namespace "${namespace}": ${namespaceMetaKey(namespace)} holds partitions ${JSON.stringify(recorded.slice(0, 40))}, not a count`,
      {
        namespace,
      },
    );
  }
  return count;
}

/**
 * Every key of a namespace: the meta key and, in every partition, runs,
 * indexes, signal buffers and the BullMQ queue, which all live under the
 * partition's hash tag (`{namespace}` or `{namespace:p}`). SCAN in batches,
 * so a large namespace never blocks the server. The namespace is matched
 * exactly (`team[12]` is not a pattern for `team1`, and `team` is not
 * `team:1`); keys are also checked against the prefixes, so a pattern quirk
 * can never hand out another namespace's keys.
 */
export async function* namespaceKeys(redis: RedisConnection, namespace: string): AsyncGenerator<string[]> {
  assertNamespace(namespace);
  // A meta key that holds no count is the namespace's own key: it is found (and dropped) with `{ns}:`.
  const partitions = await recordedPartitions(redis, namespace).catch(() => 1);
  const prefixes = new Set([keyLayout(namespace).prefix]);
  if (partitions > 1) for (let p = 0; p < partitions; p++) prefixes.add(keyLayout(namespace, p, partitions).prefix);
  // One pattern for `{ns}:` and every `{ns:p}:`; the prefixes then keep exactly this namespace's keys.
  const pattern = `${globLiteral(`{${namespace}`)}[:}]*`;
  const mine = (key: string) => {
    const end = key.indexOf("}:");
    return end > 0 && prefixes.has(key.slice(0, end + 2));
  };
  // SCAN walks one server: on a Cluster, walk each master (the partitions' slots are spread over them).
  for (const node of isCluster(redis) ? redis.nodes("master") : [redis]) {
    let cursor = "0";
    do {
      const [next, found] = await node.scan(cursor, "MATCH", pattern, "COUNT", 1000);
      cursor = next;
      const keys = found.filter(mine);
      if (keys.length > 0) yield keys;
    } while (cursor !== "0");
  }
}

/**
 * Deletes a whole namespace (every partition's runs, history and queue, and
 * its meta key, so it may be used again with another partition count), for
 * tests and for tearing down a tenant. Not atomic: stop its workers first.
 * @returns how many keys were deleted
 * @throws ValidationError for a namespace that is not a non-empty, well-formed string without `}`.
 */
export async function dropNamespace(redis: RedisConnection, namespace: string): Promise<number> {
  let deleted = 0;
  for await (const keys of namespaceKeys(redis, namespace)) {
    // One UNLINK per key: on a Cluster a batch spans the partitions' slots.
    if (isCluster(redis)) deleted += (await Promise.all(keys.map((key) => redis.unlink(key)))).reduce((a, b) => a + b, 0);
    else deleted += await redis.unlink(...keys);
  }
  return deleted;
}
