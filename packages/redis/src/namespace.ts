import { isCluster, type RedisConnection } from "./connection.js";

/**
 * Every key of a namespace: runs, indexes, signal buffers and its BullMQ
 * queue all live under the hash tag `{namespace}`. SCAN in batches, so a
 * large namespace never blocks the server.
 */
export async function* namespaceKeys(redis: RedisConnection, namespace: string): AsyncGenerator<string[]> {
  // SCAN walks one server: on a Cluster, walk each master (the namespace's slot is on one of them).
  for (const node of isCluster(redis) ? redis.nodes("master") : [redis]) {
    let cursor = "0";
    do {
      const [next, keys] = await node.scan(cursor, "MATCH", `{${namespace}}:*`, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) yield keys;
    } while (cursor !== "0");
  }
}

/**
 * Deletes a whole namespace (every run, its history and its queue), for tests
 * and for tearing down a partition. Not atomic: stop its workers first.
 * @returns how many keys were deleted
 */
export async function dropNamespace(redis: RedisConnection, namespace: string): Promise<number> {
  let deleted = 0;
  for await (const keys of namespaceKeys(redis, namespace)) deleted += await redis.unlink(...keys);
  return deleted;
}
