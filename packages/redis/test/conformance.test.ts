/**
 * The behaviour suite of @parkway/core, unchanged, on the Redis store: with
 * one partition (the default layout) and with four.
 */
import { describeBadInputConformance, describeEngineConformance } from "@parkway/core/testing";
import { Redis } from "ioredis";
import { afterAll, beforeAll } from "vitest";
import { REDIS_URL } from "./helpers.js";
import { redisHarness } from "./harness.js";

let admin: Redis;
beforeAll(() => {
  admin = new Redis(REDIS_URL);
});
afterAll(async () => {
  await admin.quit();
});

describeEngineConformance("redis", () =>
  redisHarness(
    () => admin,
    () => REDIS_URL,
  ),
);
describeBadInputConformance("redis", () =>
  redisHarness(
    () => admin,
    () => REDIS_URL,
  ),
);
describeEngineConformance("redis, 4 partitions", () =>
  redisHarness(
    () => admin,
    () => REDIS_URL,
    4,
  ),
);
