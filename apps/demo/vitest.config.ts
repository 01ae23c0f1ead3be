import { defineProject } from "vitest/config";

// The demo as `npm start` runs it: embedded, and on Redis with the worker processes it starts.
export default defineProject({
  test: {
    name: "demo",
    include: ["test/**/*.test.ts"],
    // A Redis for the tests: the one at REDIS_URL, or a private redis-server when nothing answers there.
    globalSetup: ["../../test/redis-setup.ts"],
    testTimeout: 120_000,
  },
});
