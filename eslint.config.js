import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["**/dist/**", "**/node_modules/**", "packages/redis/src/generated/**", "bench/results/**", "**/*.js", "**/*.mjs"] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-explicit-any": "error",
      // Store implementations are async to honour a Promise interface, awaiting or not.
      "@typescript-eslint/require-await": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    // The workflow-author package stays free of I/O: no Redis, no queues, no sockets.
    files: ["packages/core/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: ["ioredis", "bullmq", "node:net", "net"].map((name) => ({
            name,
            message: "@parkway/core has no I/O dependency; this belongs in @parkway/redis or @parkway/bullmq.",
          })),
        },
      ],
    },
  },
  {
    files: ["**/test/**/*.ts", "**/*.test.ts", "**/*.test-d.ts"],
    rules: {
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/require-await": "off",
    },
  },
);
