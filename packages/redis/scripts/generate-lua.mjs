#!/usr/bin/env node
/**
 * Builds the Lua scripts into the JavaScript: reads every `lua/<operation>-<keys>.lua`, splices in its
 * `-- @include "name"` fragments (`lua/includes/<name>.lua`, each once per script) and writes the results
 * to `src/generated/lua.ts`. The published package and any bundle of it then carry the scripts as
 * strings, with no file to find at run time. The `.lua` files stay the source of truth; the generated
 * module is not committed, and is rewritten only when its text changes (so watchers and caches stay calm).
 *
 * Most of every script is its includes, so a script is written as the list of its pieces of text
 * (a stretch of a file between two include lines), each piece once in the module: the module is
 * the size of the Lua sources, not of every script with its includes spelled out (which was ten
 * times as much), and each script is joined from its pieces when the module loads.
 *
 * A script carries only the include definitions it uses (see lua-shake.mjs), so a piece is a run of an
 * include's chunks that the same scripts keep, and the module still holds each piece once.
 *
 * The same text also makes one Redis function library (LUA_LIBRARY, loaded with FUNCTION LOAD): every
 * include's definitions once at its top, where Redis runs them once when it loads the library, and each
 * script's own text as the body of a function named after the script and the library's digest (so two
 * versions of Parkway sharing a Redis each call their own). A script run by EVALSHA creates all its
 * definitions again on every call, which costs more Redis time than many of the scripts' commands.
 * A script's `-- @flags <flag> ...` line gives its function's flags (`no-writes` for one that only reads).
 */
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { chunksOf, reachable, undeclared } from "./lua-shake.mjs";

const LUA_DIR = new URL("../lua/", import.meta.url);
const OUT = new URL("../src/generated/lua.ts", import.meta.url);
const INCLUDE = /^--\s*@include\s+"([\w-]+)"\s*$/gm;
const FLAGS = /^--\s*@flags\s+([\w\s-]+?)\s*$/m;
/**
 * What every script run by EVAL does first: before Redis 7, a script's commands, not its effects, are
 * replicated unless it asks, and a script that read TIME may then not write. (A function library may not
 * name replicate_commands at all while it loads, and Redis 7 needs none of it.)
 */
const EVAL_PREAMBLE = "if redis.replicate_commands then pcall(redis.replicate_commands) end\n";
/** Every function may touch its partition's keys that its caller did not name (as a script without flags may). */
const BASE_FLAGS = ["allow-cross-slot-keys"];

/**
 * Appends the stretches of `source` (from file `from`), its includes resolved in place (each once per
 * script), to `parts`: `{ from, text }`, numbered per file (a file is always cut at the same lines).
 */
function resolveIncludes(from, source, seen, parts) {
  let at = 0;
  let n = 0;
  const push = (text) => parts.push({ from, n: n++, text });
  for (const match of source.matchAll(INCLUDE)) {
    push(source.slice(at, match.index));
    at = match.index + match[0].length;
    const name = match[1];
    if (seen.has(name)) continue;
    seen.add(name);
    resolveIncludes(name, readFileSync(new URL(`includes/${name}.lua`, LUA_DIR), "utf8"), seen, parts);
  }
  push(source.slice(at));
}

/** Writes `src/generated/lua.ts`; returns its path. */
export function generateLua() {
  const files = readdirSync(LUA_DIR)
    .filter((file) => file.endsWith(".lua"))
    .sort();
  // Each script as its chunks in order: its own stretches whole, its includes' cut into definitions.
  const chunksOfPart = new Map();
  // The library: each include stretch once, in the order scripts first include it, then each script's own text.
  const libraryParts = [];
  const libraryHas = new Set();
  const scripts = files.map((file) => {
    if (!/^\w+-\d+\.lua$/.test(file)) throw new Error(`lua/${file} is not named <operation>-<keys>.lua`);
    const parts = [];
    resolveIncludes(file, readFileSync(new URL(file, LUA_DIR), "utf8"), new Set(), parts);
    const own = parts.filter((part) => part.from === file);
    const chunks = parts.flatMap((part) => {
      if (part.from === file) return [{ id: `${file}#${part.n}`, text: part.text, defines: [], mentions: [] }];
      const id = `${part.from}#${part.n}`;
      if (!chunksOfPart.has(id)) chunksOfPart.set(id, chunksOf(part.text));
      return chunksOfPart.get(id).map((chunk, i) => ({ ...chunk, id: `${id}#${i}`, part: id, at: i }));
    });
    const kept = reachable(own.map((part) => part.text).join("\n"), chunks);
    for (const part of parts) {
      const id = `${part.from}#${part.n}`;
      if (part.from === file || libraryHas.has(id)) continue;
      libraryHas.add(id);
      libraryParts.push(id);
    }
    return { file, own: own.map((part) => part.text), chunks: chunks.filter((_, i) => kept[i]) };
  });
  // The scripts keeping each chunk: a run of chunks of one stretch kept by the same scripts is one piece.
  const keptBy = new Map();
  for (const { file, chunks } of scripts) for (const { id } of chunks) keptBy.set(id, `${keptBy.get(id) ?? ""} ${file}`);
  // Every piece of text once, by its index.
  const texts = [];
  const indexOf = new Map();
  const pieceIndex = (piece) => {
    if (!indexOf.has(piece)) indexOf.set(piece, texts.push(piece) - 1);
    return indexOf.get(piece);
  };
  const entries = scripts.map(({ file, chunks }) => {
    const pieces = [EVAL_PREAMBLE];
    chunks.forEach((chunk, i) => {
      const last = chunks[i - 1];
      const next = last && chunk.part && last.part === chunk.part && last.at + 1 === chunk.at;
      const joins = next && keptBy.get(last.id) === keptBy.get(chunk.id);
      if (joins) pieces[pieces.length - 1] += chunk.text;
      else pieces.push(chunk.text);
    });
    const missing = undeclared(pieces.join(""));
    if (missing.length > 0) throw new Error(`lua/${file} uses ${missing.join(", ")}, which it defines nowhere`);
    return `  ${JSON.stringify(file)}: [${pieces.map(pieceIndex).join(", ")}],`;
  });
  const library = libraryPieces(libraryParts, chunksOfPart, keptBy, scripts);
  const libraryIndexes = library.pieces.map(pieceIndex);
  const text = [
    "// Generated by scripts/generate-lua.mjs from lua/*.lua, includes resolved. Do not edit; not committed.",
    "/** Every piece of Lua text, once. */",
    "const PIECES: readonly string[] = [",
    ...texts.map((piece) => `  ${JSON.stringify(piece)},`),
    "];",
    "/** Each script as the pieces it is made of, in order. */",
    "const SCRIPTS: Readonly<Record<string, readonly number[]>> = {",
    ...entries,
    "};",
    "/** Each script's source by file name. */",
    "export const LUA_SOURCES: Readonly<Record<string, string>> = Object.fromEntries(",
    '  Object.entries(SCRIPTS).map(([file, pieces]) => [file, pieces.map((i) => PIECES[i]).join("")]),',
    ");",
    "/** The function library of every script: its name, its code, and each script's function by file name. */",
    "export const LUA_LIBRARY: {",
    "  readonly name: string;",
    "  readonly code: string;",
    "  readonly functions: Readonly<Record<string, string>>;",
    "} = {",
    `  name: ${JSON.stringify(library.name)},`,
    `  code: [${libraryIndexes.join(", ")}].map((i) => PIECES[i]).join(""),`,
    `  functions: ${JSON.stringify(library.functions)},`,
    "};",
    "",
  ].join("\n");
  let current;
  try {
    current = readFileSync(OUT, "utf8");
  } catch {
    current = undefined;
  }
  if (current !== text) {
    mkdirSync(new URL(".", OUT), { recursive: true });
    writeFileSync(OUT, text);
  }
  return fileURLToPath(OUT);
}

/**
 * The library as pieces of text: the include stretches in `parts` cut as the scripts' pieces are (runs of
 * chunks the same scripts keep, so most are pieces the scripts share), then a registration of each script.
 */
function libraryPieces(parts, chunksOfPart, keptBy, scripts) {
  const defs = [];
  for (const part of parts) {
    chunksOfPart.get(part).forEach((chunk, i) => {
      const id = `${part}#${i}`;
      const joins = i > 0 && keptBy.get(`${part}#${i - 1}`) === keptBy.get(id);
      if (joins) defs[defs.length - 1] += chunk.text;
      else defs.push(chunk.text);
    });
  }
  const digest = createHash("sha1");
  for (const text of defs) digest.update(text);
  for (const { file, own } of scripts) digest.update(file).update(own.join(""));
  const hash = digest.digest("hex").slice(0, 12);
  const name = `parkway_${hash}`;
  const functions = {};
  const registrations = scripts.flatMap(({ file, own }) => {
    const fn = `${name}_${file.replace(/-\d+\.lua$/, "")}`;
    functions[file] = fn;
    const flags = [...BASE_FLAGS, ...(FLAGS.exec(own.join(""))?.[1].split(/\s+/) ?? [])];
    return [
      `\nredis.register_function({ function_name = ${JSON.stringify(fn)}, flags = { ${flags.map((f) => JSON.stringify(f)).join(", ")} }, callback = function(KEYS, ARGV)\n`,
      ...own,
      "\nend })\n",
    ];
  });
  const pieces = [`#!lua name=${name}\n`, ...defs, ...registrations];
  const missing = undeclared(pieces.slice(1).join(""));
  if (missing.length > 0) throw new Error(`the function library uses ${missing.join(", ")}, which it defines nowhere`);
  const global = undeclared(defs.join(""), { shared: true }).filter((name) => name === "KEYS" || name === "ARGV");
  if (global.length > 0) throw new Error(`an include reads ${global.join(" and ")}, which only a script's own text may`);
  return { name, functions, pieces };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) generateLua();
