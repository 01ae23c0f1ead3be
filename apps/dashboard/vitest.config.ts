import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "dashboard",
    include: ["test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // The browser tests start a worker, a dashboard server and Chromium; one file at a time keeps a 2-core machine steady.
    fileParallelism: false,
  },
});
