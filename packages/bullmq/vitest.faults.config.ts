import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// The fault suite (`npm run test:faults`): its own redis-server, worker processes, minutes of load and faults.
export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  test: {
    name: "bullmq-faults",
    include: ["test/faults/**/*.test.ts"],
    testTimeout: 15 * 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
