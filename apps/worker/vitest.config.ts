import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "worker-app",
    include: ["test/**/*.test.ts"],
  },
});
