import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

// The front end is built without a framework plugin: Vite's own transformer (oxc)
// compiles JSX for Preact, which keeps the dependency tree small and `npm ci` simple.
export default defineConfig({
  root: fileURLToPath(new URL("./src/web", import.meta.url)),
  base: "/",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: fileURLToPath(new URL("./dist/web", import.meta.url)),
    emptyOutDir: true,
    // No source maps: a production build must not hand out the front end's source (the server refuses `.map` too).
    sourcemap: false,
  },
  server: {
    // `npm run dev:web -w @parkway/dashboard` next to a running dashboard server.
    proxy: { "/api": "http://127.0.0.1:4400" },
  },
});
