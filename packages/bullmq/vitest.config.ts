import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "bullmq",
    include: ["test/**/*.test.ts"],
    // A Redis for the tests: the one at REDIS_URL, or a private redis-server when nothing answers there.
    globalSetup: ["../../test/redis-setup.ts"],
    // The fault suite takes minutes and runs redis-server itself: `npm run test:faults` (vitest.faults.config.ts).
    exclude: ["test/faults/**"],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // Integration tests start worker processes against one Redis; run files one at a time.
    fileParallelism: false,
  },
});
