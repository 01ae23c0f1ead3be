import { defineProject } from "vitest/config";

// Integration tests: they need a real Redis at REDIS_URL (default redis://127.0.0.1:6379).
export default defineProject({
  test: {
    name: "redis",
    include: ["test/**/*.test.ts"],
    testTimeout: 20_000,
  },
});
