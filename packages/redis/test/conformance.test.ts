/**
 * The behaviour suite of @parkway/core, unchanged, on the Redis store: an
 * embedded engine over a RedisStore on real time. Each harness gets its own
 * namespace; a "restart" is a second engine on a new store over the same keys,
 * after the first store's connection is cut (as a crashed process's would be).
 */
import { createEngine } from "@parkway/core";
import { describeBadInputConformance, describeEngineConformance, type EngineHarness, type EngineUnderTest } from "@parkway/core/testing";
import { Redis } from "ioredis";
import { afterAll, beforeAll } from "vitest";
import { RedisStore } from "../src/index.js";
import { dropNamespace, randomNamespace, REDIS_URL } from "./helpers.js";

/** The cut engine's in-flight work fails to write: that is the crash being simulated. Anything else is reported. */
function reportUnlessCut(error: unknown, id: string): void {
  if (error instanceof Error && error.message === "Connection is closed.") return;
  console.error(`parkway: advancing run "${id}" failed:`, error);
}

let admin: Redis;
beforeAll(() => {
  admin = new Redis(REDIS_URL);
});
afterAll(async () => {
  await admin.quit();
});

function redisHarness(): EngineHarness {
  const namespace = randomNamespace();
  const engines: EngineUnderTest[] = [];
  const open: EngineHarness["create"] = async (workflows, options = {}) => {
    const store = new RedisStore({ connection: REDIS_URL, namespace, onWarning: () => {} });
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
      await dropNamespace(admin, namespace);
    },
  };
}

describeEngineConformance("redis", redisHarness);
describeBadInputConformance("redis", redisHarness);
