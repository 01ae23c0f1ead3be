#!/usr/bin/env node
/**
 * The packages as users get them. Packs every public package, installs the tarballs alone into a fresh
 * project outside the repository, once as CommonJS (`npm init -y`) and once as an ES module project, and
 * in each:
 *
 *   - compiles a strict TypeScript app (module nodenext) with a workflow that forks, delays and waits for
 *     a signal, and runs it on the memory engine;
 *   - runs it on Redis against a worker started from the installed `parkway` bin, and serves that run
 *     from the installed `parkway-dashboard` bin (its API lists it and draws its tree; its page loads);
 *   - require()s and import()s every public entry, and checks that one error class is recognised
 *     across the two module systems;
 *   - bundles a worker with esbuild, moves the bundle away from node_modules, and runs the app against it.
 *
 * Needs the packages built (`npm run test:install` builds first) and a Redis at REDIS_URL (default
 * redis://127.0.0.1:6379); each run uses its own namespace and deletes it at the end. Third-party
 * dependencies come from the registry (or npm's cache).
 */
import { execFile, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { dropNamespace } from "@parkway/redis";
import { Redis } from "ioredis";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const PACKAGES = ["core", "redis", "bullmq", "worker", "cli", "dashboard"];
const ENTRIES = [
  "@parkway/core",
  "@parkway/core/event-words",
  "@parkway/redis",
  "@parkway/bullmq",
  "@parkway/worker",
  "@parkway/cli",
  "@parkway/dashboard",
];
/** Files a tarball needs beyond LICENSE, package.json and dist/cjs/package.json. */
const NEEDED = { "@parkway/dashboard": ["dist/web/index.html", "dist/server/main.js"] };
/** ESM only, like the vitest it drives. */
const IMPORT_ONLY = ["@parkway/core/testing"];
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const TOOLS = ["typescript@~5.9.3", "@types/node@^20.19.0", "esbuild@^0.28.2", "ioredis@^5.9.2", "vitest@^4.1.12"];

const run = promisify(execFile);
const started = Date.now();
const work = mkdtempSync(join(tmpdir(), "parkway-install-"));
const namespaces = [];

let lap = Date.now();
function step(text) {
  console.log(`  ✓ ${text} (${((Date.now() - lap) / 1000).toFixed(1)}s)`);
  lap = Date.now();
}

async function sh(cwd, command, args, env = {}) {
  try {
    return (await run(command, args, { cwd, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 })).stdout;
  } catch (error) {
    throw new Error(`${command} ${args.join(" ")} (in ${cwd}) failed:\n${error.stdout ?? ""}${error.stderr ?? ""}`);
  }
}

async function pack() {
  const dir = join(work, "tarballs");
  mkdirSync(dir);
  const out = await sh(ROOT, "npm", ["pack", "--json", "--pack-destination", dir, ...PACKAGES.flatMap((p) => ["-w", `packages/${p}`])]);
  console.log("packed:");
  for (const t of JSON.parse(out)) {
    const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
    console.log(
      `  ${t.filename.padEnd(28)} ${kib(t.size).padStart(10)} packed, ${kib(t.unpackedSize).padStart(10)} unpacked, ${t.entryCount} files`,
    );
    const paths = t.files.map((f) => f.path);
    for (const needed of ["LICENSE", "package.json", "dist/cjs/package.json", ...(NEEDED[t.name] ?? [])]) {
      if (!paths.includes(needed)) throw new Error(`${t.filename} lacks ${needed}`);
    }
    if (paths.some((p) => p.startsWith("src/") || p.startsWith("test/"))) throw new Error(`${t.filename} ships sources or tests`);
  }
  return JSON.parse(out).map((t) => join(dir, t.filename));
}

const WORKFLOWS_TS = `import { branch, flow, task } from "@parkway/core";

export interface Order {
  readonly id: string;
  readonly amount: number;
}

/** Forks, joins, sleeps, then waits for a person's approval. */
export const order = flow<Order>("install-order")
  .then("reserve", (o: Order) => ({ ...o, reserved: true }))
  .fork([
    branch("charge", task("charge", (o: Order & { reserved: boolean }) => ({ charged: o.amount }))),
    branch("pack", task("pack", (o: Order & { reserved: boolean }) => ({ parcel: \`parcel-\${o.id}\` }))),
  ])
  .join("merge", ({ charge, pack }) => ({ ...charge, ...pack }))
  .delay("cool-off", "200ms")
  .waitForSignal<{ by: string }>("approval", "approved", { timeout: "1m" })
  .then("ship", (approval) => \`shipped, approved by \${approval.by}\`)
  .build();

export const workflows = [order];
`;

const MAIN_TS = `import { createMemoryEngine, isParkwayError, ValidationError } from "@parkway/core";
import { ParkwayClient } from "@parkway/bullmq";
import { order } from "./workflows.js";

const EXPECTED = "shipped, approved by ana";

async function main(): Promise<void> {
  const target = process.argv[2];
  if (target === "memory") {
    const engine = createMemoryEngine({ workflows: [order] });
    try {
      await engine.start(order, { id: "1", amount: 12 }, { id: "memory-1" });
      await engine.signal("memory-1", "approved", { by: "ana" });
      const result: string = await engine.result("memory-1", { timeout: "30s" });
      if (result !== EXPECTED) throw new Error(\`memory engine answered \${result}\`);
      const bad: unknown = await engine.start(order, { id: "2", amount: 1 }, { id: "" }).catch((e: unknown) => e);
      if (!(bad instanceof ValidationError) || !isParkwayError(bad, "VALIDATION")) throw new Error("an empty id was accepted");
    } finally {
      await engine.close();
    }
  } else if (target === "redis") {
    const id = process.env.RUN_ID ?? "redis-1";
    const client = new ParkwayClient({ connection: process.env.REDIS_URL ?? "redis://127.0.0.1:6379", namespace: process.env.PARKWAY_NAMESPACE ?? "", workflows: [order] });
    try {
      await client.start(order, { id, amount: 12 }, { id });
      await client.signal(id, "approved", { by: "ana" });
      const result = await client.result(id, { timeout: "60s" });
      if (result !== EXPECTED) throw new Error(\`the worker answered \${String(result)}\`);
    } finally {
      await client.close();
    }
  } else {
    throw new Error("usage: main memory|redis");
  }
  console.log(\`\${target}: ok\`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
`;

const WORKER_TS = `import { WorkflowWorker } from "@parkway/bullmq";
import { workflows } from "./workflows.js";

const worker = new WorkflowWorker({ connection: process.env.REDIS_URL ?? "redis://127.0.0.1:6379", namespace: process.env.PARKWAY_NAMESPACE ?? "", workflows });
worker.start().then(
  () => console.error("bundled worker: consuming"),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
process.on("SIGTERM", () => {
  worker.close().then(() => process.exit(0), () => process.exit(1));
});
`;

const TSCONFIG = {
  compilerOptions: {
    target: "ES2022",
    module: "NodeNext",
    moduleResolution: "NodeNext",
    strict: true,
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
    skipLibCheck: false,
    rootDir: "src",
    outDir: "dist",
    types: ["node"],
  },
  include: ["src"],
};

/** Checks every entry from `require()` and from `import`, and one error class across both. */
const LOAD_CHECK = `
const { createRequire } = require("node:module");
const entries = ${JSON.stringify(ENTRIES)};
const importOnly = ${JSON.stringify(IMPORT_ONLY)};
(async () => {
  for (const name of entries) {
    const required = require(name);
    const imported = await import(name);
    if (Object.keys(required).length === 0 || Object.keys(imported).length === 0) throw new Error(name + " exports nothing");
  }
  for (const name of importOnly) {
    await import(name);
    try { require(name); throw new Error(name + " loaded from require()"); } catch (e) { if (e.code !== "ERR_PACKAGE_PATH_NOT_EXPORTED") throw e; }
  }
  const cjs = require("@parkway/core");
  const esm = await import("@parkway/core");
  if (cjs.ValidationError === esm.ValidationError) throw new Error("expected two copies of @parkway/core");
  if (!(new esm.ValidationError("x") instanceof cjs.ValidationError) || !cjs.isParkwayError(new esm.ValidationError("x"), "VALIDATION")) {
    throw new Error("an error from the ES module build is not recognised by the CommonJS build");
  }
})().catch((e) => { console.error(e); process.exit(1); });
`;

/**
 * Starts `command` and resolves once its output (stdout or stderr) matches `ready`, a string or a RegExp,
 * with the process and the match.
 */
function startProcess(cwd, command, args, env, ready) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let seen = "";
    const timer = setTimeout(() => {
      // Not left running: it would keep this script from exiting.
      child.kill("SIGKILL");
      reject(new Error(`${command} never said "${ready}":\n${seen}`));
    }, 30_000);
    const onData = (chunk) => {
      seen += chunk;
      const match = typeof ready === "string" ? (seen.includes(ready) ? [ready] : null) : ready.exec(seen);
      if (match) {
        clearTimeout(timer);
        resolve({ child, match });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited with ${code} before it was ready:\n${seen}`));
    });
  });
}

async function stopProcess(child) {
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal)));
  child.kill("SIGTERM");
  const code = await exited;
  if (code !== 0) throw new Error(`${child.spawnfile} exited with ${code} on SIGTERM`);
}

/** GETs `path` of the dashboard at `url`: the response, its body read as text. */
async function get(url, path) {
  const response = await fetch(`${url}${path}`);
  const body = await response.text();
  if (!response.ok) throw new Error(`GET ${path} answered ${response.status}: ${body}`);
  return body;
}

/** The installed `parkway-dashboard` on the namespace: the run is listed and drawn, the page and its script load. */
async function checkDashboard(dir, namespace, runId) {
  const { child, match } = await startProcess(
    dir,
    join(dir, "node_modules", ".bin", "parkway-dashboard"),
    ["--redis", REDIS_URL, "--namespace", namespace, "--workflows", "dist/workflows.js", "--port", "0"],
    {},
    /parkway-dashboard \d+: (http:\/\/127\.0\.0\.1:\d+) on Redis/,
  );
  try {
    const url = match[1];
    const runs = JSON.parse(await get(url, "/api/runs")).runs.map((r) => `${r.id} ${r.status}`);
    if (!runs.includes(`${runId} completed`)) throw new Error(`the runs list lacks ${runId}, completed: ${runs.join(", ")}`);
    const run = JSON.parse(await get(url, `/api/runs/${runId}`));
    if (run.definition !== "loaded" || !run.tree?.some((node) => node.key === "ship")) {
      throw new Error(`run ${runId} is not drawn from --workflows: ${JSON.stringify(run).slice(0, 300)}`);
    }
    const page = await get(url, "/");
    const script = /<script type="module"[^>]* src="(\/assets\/[^"]+\.js)"/.exec(page);
    if (!script) throw new Error(`the index page has no script:\n${page}`);
    await get(url, script[1]);
  } finally {
    await stopProcess(child);
  }
}

async function project(kind, tarballs) {
  console.log(`${kind === "module" ? "ES module" : "CommonJS"} project:`);
  lap = Date.now();
  const dir = join(work, kind);
  mkdirSync(join(dir, "src"), { recursive: true });
  await sh(dir, "npm", ["init", "-y"]);
  if (kind === "module") {
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    writeFileSync(join(dir, "package.json"), JSON.stringify({ ...pkg, type: "module" }, null, 2));
  }
  await sh(dir, "npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error", ...tarballs, ...TOOLS]);
  step(`installed the ${tarballs.length} tarballs (peer @opentelemetry/api from the registry)`);

  writeFileSync(join(dir, "tsconfig.json"), JSON.stringify(TSCONFIG, null, 2));
  writeFileSync(join(dir, "src", "workflows.ts"), WORKFLOWS_TS);
  writeFileSync(join(dir, "src", "main.ts"), MAIN_TS);
  writeFileSync(join(dir, "src", "worker.ts"), WORKER_TS);
  await sh(dir, join(dir, "node_modules", ".bin", "tsc"), ["-p", "."]);
  step("tsc (strict, nodenext, skipLibCheck off) compiles the app against the installed declarations");

  await sh(dir, "node", ["-e", LOAD_CHECK]);
  step(`require() and import of ${[...ENTRIES].join(", ")}; ${IMPORT_ONLY.join(", ")} import only`);
  step("an error of one module system is an instance of the other's class");

  await sh(dir, "node", ["dist/main.js", "memory"]);
  step("fork, delay and signal on the memory engine");

  const namespace = `install-${kind}-${process.pid}-${Date.now().toString(36)}`;
  namespaces.push(namespace);
  const env = { REDIS_URL, PARKWAY_NAMESPACE: namespace };
  const { child: cli } = await startProcess(
    dir,
    join(dir, "node_modules", ".bin", "parkway"),
    ["worker", "--workflows", "dist/workflows.js", "--redis", REDIS_URL, "--namespace", namespace],
    {},
    `on namespace ${namespace}`,
  );
  try {
    await sh(dir, "node", ["dist/main.js", "redis"], { ...env, RUN_ID: "via-cli" });
  } finally {
    await stopProcess(cli);
  }
  step(`fork, delay and signal on Redis, advanced by the installed \`parkway worker\` (namespace ${namespace})`);

  await checkDashboard(dir, namespace, "via-cli");
  step("the installed `parkway-dashboard` lists the run, draws its tree from --workflows and serves its page");

  // The bundle runs from a directory with no node_modules anywhere above it that could help.
  const format = kind === "module" ? "esm" : "cjs";
  const bundleDir = mkdtempSync(join(tmpdir(), "parkway-bundle-"));
  const bundle = join(bundleDir, kind === "module" ? "worker.mjs" : "worker.cjs");
  const banner =
    format === "esm"
      ? [
          "--banner:js=import { createRequire as bannerCreateRequire } from 'node:module'; const require = bannerCreateRequire(import.meta.url);",
        ]
      : [];
  await sh(dir, join(dir, "node_modules", ".bin", "esbuild"), [
    "src/worker.ts",
    "--bundle",
    "--platform=node",
    "--target=node20",
    `--format=${format}`,
    `--outfile=${bundle}`,
    "--log-level=error",
    ...banner,
  ]);
  const bundleKiB = (statSync(bundle).size / 1024).toFixed(0);
  const { child: bundled } = await startProcess(bundleDir, "node", [bundle], env, "bundled worker: consuming");
  try {
    await sh(dir, "node", ["dist/main.js", "redis"], { ...env, RUN_ID: "via-bundle" });
  } finally {
    await stopProcess(bundled);
    rmSync(bundleDir, { recursive: true, force: true });
  }
  step(`an esbuild bundle of a worker (${format}, ${bundleKiB} KiB) runs on its own against Redis`);
}

async function main() {
  console.log(`install test in ${work}`);
  const tarballs = await pack();
  for (const kind of ["commonjs", "module"]) await project(kind, tarballs);
}

let failure;
try {
  await main();
} catch (error) {
  failure = error;
} finally {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    for (const namespace of namespaces) await dropNamespace(redis, namespace);
  } finally {
    redis.disconnect();
  }
}
if (failure) {
  console.error(`install test failed: ${failure instanceof Error ? failure.message : String(failure)}`);
  console.error(`kept ${work} for a look`);
  process.exitCode = 1;
} else {
  rmSync(work, { recursive: true, force: true });
  console.log(`install test passed in ${((Date.now() - started) / 1000).toFixed(1)}s (cleaned up ${namespaces.join(", ")})`);
}
