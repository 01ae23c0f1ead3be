import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "bench",
    include: ["test/**/*.test.ts"],
    // A Redis for the tests: the one at REDIS_URL, or a private redis-server when nothing answers there.
    globalSetup: ["../test/redis-setup.ts"],
    // The smoke test starts worker processes and keeps both cores busy for a while: it runs
    // after every other project (which share group 0), so it never slows their timing-sensitive tests.
    sequence: { groupOrder: 1 },
    testTimeout: 180_000,
    hookTimeout: 60_000,
  },
});
