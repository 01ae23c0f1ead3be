/**
 * The behaviour suite's harness on a RedisStore: an embedded engine on real
 * time. Each harness gets its own namespace; a "restart" is a second engine
 * on a new store over the same keys, after the first store's connection is
 * cut (as a crashed process's would be).
 */
import { createEngine } from "@parkway/core";
import type { EngineHarness, EngineUnderTest } from "@parkway/core/testing";
import type { Cluster, Redis } from "ioredis";
import { dropNamespace, RedisStore, type ConnectionOptions } from "../src/index.js";
import { randomNamespace } from "./helpers.js";

/** The cut engine's in-flight work fails to write: that is the crash being simulated. Anything else is reported. */
function reportUnlessCut(error: unknown, id: string): void {
  if (error instanceof Error && error.message === "Connection is closed.") return;
  console.error(`parkway: advancing run "${id}" failed:`, error);
}

/**
 * A harness whose stores connect with `connect()` (a URL opens a connection per store; a Cluster
 * factory gives each store its own client, closed at cleanup) to a namespace of `partitions`
 * partitions; `admin` drops the namespace afterwards.
 */
export function redisHarness(admin: () => Redis | Cluster, connect: () => ConnectionOptions, partitions = 1): EngineHarness {
  const namespace = randomNamespace();
  const engines: EngineUnderTest[] = [];
  const shared: (Redis | Cluster)[] = [];
  const open: EngineHarness["create"] = async (workflows, options = {}) => {
    const connection = connect();
    if (typeof connection === "object" && "duplicate" in connection) shared.push(connection);
    const store = new RedisStore({ connection, namespace, partitions, onWarning: () => {} });
    const engine = createEngine({ onError: reportUnlessCut, ...options, workflows, store });
    engines.push(engine);
    return engine;
  };
  return {
    create: open,
    reopen: async (engine, workflows, options) => {
      (engine.store as RedisStore).redis.disconnect();
      return open(workflows, options);
    },
    advance: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    async cleanup() {
      await Promise.all(engines.map((e) => Promise.race([e.close(), new Promise((r) => setTimeout(r, 200))])));
      for (const connection of shared) connection.disconnect();
      await dropNamespace(admin(), namespace);
    },
  };
}
