import { defineProject } from "vitest/config";

// Integration tests: they need a real Redis at REDIS_URL (default redis://127.0.0.1:6379).
export default defineProject({
  test: {
    name: "redis",
    include: ["test/**/*.test.ts"],
    // A Redis for the tests: the one at REDIS_URL, or a private redis-server when nothing answers there.
    globalSetup: ["../../test/redis-setup.ts"],
    testTimeout: 20_000,
  },
});
