import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "dashboard",
    include: ["test/**/*.test.ts"],
    // A Redis for the tests: the one at REDIS_URL, or a private redis-server when nothing answers there.
    globalSetup: ["../../test/redis-setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // The browser tests start a worker, a dashboard server and Chromium; one file at a time keeps a 2-core machine steady.
    fileParallelism: false,
  },
});
