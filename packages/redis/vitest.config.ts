import { defineProject } from "vitest/config";
// @ts-expect-error: a plain ES module script, without declarations.
import { generateLua } from "./scripts/generate-lua.mjs";

// The tests import src/, which imports the scripts generated from lua/: generate them first.
(generateLua as () => string)();

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
