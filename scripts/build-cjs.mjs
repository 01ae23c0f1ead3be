#!/usr/bin/env node
/**
 * The CommonJS half of a package's dual build, run in the package's directory after `tsc` has written
 * the ES modules and declarations to `dist/`.
 *
 * For every `require` entry in the package's `exports` (`./dist/cjs/<name>.js`), the source files it
 * reaches are transpiled one by one to `dist/cjs/` (same layout as `dist/`, so relative imports hold), and
 * tsc's declarations are copied beside them. `dist/cjs/package.json` says `"type": "commonjs"`, so Node and
 * TypeScript read both the JavaScript and the declarations there as CommonJS.
 *
 * Files are transpiled with esbuild's transform API, not its bundler: a default import of an ES module
 * (`import pRetry from "p-retry"`) then reads its `default` export, as Node's `require(esm)` hands it over,
 * instead of the whole namespace. `import.meta.url` becomes the file's own URL; `import()` stays `import()`,
 * so a workflows module written as an ES module still loads. Any other warning fails the build.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { build, transform } from "esbuild";

const pkg = JSON.parse(readFileSync("package.json", "utf8"));
const OUT = "dist/cjs";

/** `./dist/cjs/x/y.js` of every `require` condition → `src/x/y.ts`. */
const entries = Object.values(pkg.exports ?? {})
  .map((entry) => entry?.require?.default)
  .filter((target) => typeof target === "string")
  .map((target) => {
    const match = /^\.\/dist\/cjs\/(.+)\.js$/.exec(target);
    if (!match) throw new Error(`${pkg.name}: require target "${target}" is not under ./dist/cjs/`);
    return `src/${match[1]}.ts`;
  });
if (entries.length === 0) throw new Error(`${pkg.name}: no "require" condition in exports`);

// The source files the entries reach: esbuild resolves the graph, dependencies stay outside.
const graph = await build({
  entryPoints: entries,
  bundle: true,
  write: false,
  metafile: true,
  packages: "external",
  platform: "node",
  format: "esm",
  outdir: "unused",
  logLevel: "silent",
});
const sources = Object.keys(graph.metafile.inputs).filter((file) => file.startsWith("src/") && file.endsWith(".ts"));

rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
writeFileSync(join(OUT, "package.json"), `${JSON.stringify({ type: "commonjs" }, null, 2)}\n`);

const SHIM = 'var __importMetaUrl = require("node:url").pathToFileURL(__filename).href;\n';

for (const source of sources) {
  const stem = source.slice("src/".length, -".ts".length);
  const target = join(OUT, `${stem}.js`);
  mkdirSync(dirname(target), { recursive: true });
  const code = readFileSync(source, "utf8");
  const result = await transform(code, {
    loader: "ts",
    format: "cjs",
    platform: "node",
    target: "node20",
    sourcemap: "external",
    sourcefile: relative(dirname(target), source),
    define: { "import.meta.url": "__importMetaUrl" },
    banner: code.includes("import.meta.url") ? SHIM : "",
  });
  if (result.warnings.length > 0) {
    throw new Error(`${source}: ${result.warnings.map((w) => w.text).join("; ")}`);
  }
  writeFileSync(target, `${result.code}//# sourceMappingURL=${stem.split("/").pop()}.js.map\n`);
  writeFileSync(`${target}.map`, result.map);
}

// Every declaration, not only those of the files above: a type-only module has no JavaScript to reach.
for (const entry of readdirSync("dist", { recursive: true, withFileTypes: true })) {
  const path = relative("dist", join(entry.parentPath, entry.name));
  if (entry.isFile() && path.endsWith(".d.ts") && !path.startsWith("cjs/")) copyDeclarations(path.slice(0, -".d.ts".length));
}

/** `dist/<stem>.d.ts` (and its map, pointed one level further up) → `dist/cjs/<stem>.d.ts`. */
function copyDeclarations(stem) {
  const declaration = join("dist", `${stem}.d.ts`);
  mkdirSync(dirname(join(OUT, stem)), { recursive: true });
  copyFileSync(declaration, join(OUT, `${stem}.d.ts`));
  const map = `${declaration}.map`;
  if (!existsSync(map)) return;
  const parsed = JSON.parse(readFileSync(map, "utf8"));
  parsed.sources = parsed.sources.map((s) => `../${s}`);
  writeFileSync(join(OUT, `${stem}.d.ts.map`), JSON.stringify(parsed));
}
