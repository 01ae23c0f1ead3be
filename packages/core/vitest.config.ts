import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "core",
    include: ["test/**/*.test.ts"],
    // The conformance suite's longest cases (five engines dying in turn) take over vitest's default
    // 5 s on a loaded machine, and a case left running spoils the ones after it: as the Redis run of
    // the same suite does, allow 20 s.
    testTimeout: 20_000,
    typecheck: { enabled: true, include: ["test/**/*.test-d.ts"], tsconfig: "./tsconfig.json" },
  },
});
