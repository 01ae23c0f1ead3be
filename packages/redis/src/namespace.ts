import { assertWellFormed, ValidationError } from "@parkway/core";
import { isCluster, type RedisConnection } from "./connection.js";

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

/**
 * Every key of a namespace: runs, indexes, signal buffers and its BullMQ
 * queue all live under the hash tag `{namespace}`. SCAN in batches, so a
 * large namespace never blocks the server. The namespace is matched exactly
 * (`team[12]` is not a pattern for `team1`); keys are also checked against the
 * prefix, so a pattern quirk can never hand out another namespace's keys.
 */
export async function* namespaceKeys(redis: RedisConnection, namespace: string): AsyncGenerator<string[]> {
  assertNamespace(namespace);
  const prefix = `{${namespace}}:`;
  const pattern = `${globLiteral(prefix)}*`;
  // SCAN walks one server: on a Cluster, walk each master (the namespace's slot is on one of them).
  for (const node of isCluster(redis) ? redis.nodes("master") : [redis]) {
    let cursor = "0";
    do {
      const [next, found] = await node.scan(cursor, "MATCH", pattern, "COUNT", 1000);
      cursor = next;
      const keys = found.filter((key) => key.startsWith(prefix));
      if (keys.length > 0) yield keys;
    } while (cursor !== "0");
  }
}

/**
 * Deletes a whole namespace (every run, its history and its queue), for tests
 * and for tearing down a partition. Not atomic: stop its workers first.
 * @returns how many keys were deleted
 * @throws ValidationError for a namespace that is not a non-empty, well-formed string without `}`.
 */
export async function dropNamespace(redis: RedisConnection, namespace: string): Promise<number> {
  let deleted = 0;
  for await (const keys of namespaceKeys(redis, namespace)) deleted += await redis.unlink(...keys);
  return deleted;
}
