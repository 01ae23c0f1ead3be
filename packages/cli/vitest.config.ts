import { defineProject } from "vitest/config";

// The CLI as a user drives it: spawned `parkway` processes, a worker process, a real Redis at REDIS_URL.
export default defineProject({
  test: {
    name: "cli",
    include: ["test/**/*.test.ts"],
    // A Redis for the tests: the one at REDIS_URL, or a private redis-server when nothing answers there.
    globalSetup: ["../../test/redis-setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
