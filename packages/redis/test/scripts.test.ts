import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain ES module script, without declarations.
import { chunksOf as chunksOfUntyped, reachable as reachableUntyped, undeclared as undeclaredUntyped } from "../scripts/lua-shake.mjs";
import { loadScript, SCRIPTS } from "../src/scripts.js";

const chunksOf = chunksOfUntyped as (text: string) => { text: string; defines: string[] }[];
const reachable = reachableUntyped as (body: string, chunks: unknown[]) => boolean[];
const undeclared = undeclaredUntyped as (source: string, options?: { shared?: boolean }) => string[];

const LUA_FILES = readdirSync(new URL("../lua/", import.meta.url)).filter((file) => file.endsWith(".lua"));

describe("the scripts built into the JavaScript", () => {
  it("holds every lua/ file, includes resolved, each include once", () => {
    const loaded = Object.values(SCRIPTS).map((script) => `${script.name}-${script.keys}.lua`);
    expect(new Set(loaded)).toEqual(new Set(LUA_FILES));
    for (const script of Object.values(SCRIPTS)) {
      expect(script.source).not.toMatch(/@include/);
      for (const fn of script.source.matchAll(/^local function (\w+)/gm)) {
        expect(script.source.split(`local function ${fn[1]}(`).length - 1, `${script.name}: ${fn[1]}`).toBe(1);
      }
    }
    expect(SCRIPTS.acquireRun.source).toContain("local function requireRun(");
  });

  it("keeps the <operation>-<keys>.lua naming contract", () => {
    expect(loadScript("getRun-2.lua")).toMatchObject({ name: "getRun", keys: 2, sha: SCRIPTS.getRun.sha });
    expect(() => loadScript("getRun.lua")).toThrow(/not named <operation>-<keys>\.lua/);
    expect(() => loadScript("noSuchRun-1.lua")).toThrow(/lua\/noSuchRun-1\.lua" was not generated/);
  });
});

describe("a script carries the include definitions it uses, and only those", () => {
  const include = [
    "-- the clock",
    "if redis.replicate_commands then pcall(redis.replicate_commands) end",
    "",
    "-- two at once",
    'local A, B = "--", [[x]]',
    "local function g(n)",
    '  return n .. "unused()"',
    "end",
    "-- only through a table",
    "local T = {",
    "  f = g,",
    "}",
    "local M = setmetatable({}, {})",
    "local function unused()",
    "  return g(1)",
    "end",
    "",
  ].join("\n");

  it("keeps what the script's text reaches, whatever a string or comment says", () => {
    const chunks = chunksOf(include);
    expect(chunks.map((chunk) => chunk.text).join("")).toBe(include);
    const kept = reachable("return T.f(B)", chunks);
    const dropped = chunks.filter((_, i) => !kept[i]).map((chunk) => chunk.defines);
    expect(dropped).toEqual([["unused"]]);
    // A value with a call in it may have an effect: never dropped.
    expect(chunks.find((chunk) => chunk.text.includes("setmetatable"))?.defines).toEqual([]);
  });

  it("names a function a script calls but no longer defines", () => {
    expect(undeclared('local function f(a) return a end\nreturn f(g(KEYS[1]), { x = 1 }, cjson.encode("h()"))')).toEqual(["g"]);
  });

  it("names KEYS and ARGV read by shared definitions, which a function library's functions receive as parameters", () => {
    expect(undeclared("local function key() return KEYS[1] .. ARGV[1] end", { shared: true })).toEqual(["KEYS", "ARGV"]);
    expect(undeclared("local function key() return KEYS[1] end")).toEqual([]);
  });

  it("leaves a script that does not use an include's definitions without them", () => {
    expect(SCRIPTS.getRun.source).not.toContain("local function writeHeader(");
    expect(SCRIPTS.commitStep.source).toContain("local function writeHeader(");
    for (const script of Object.values(SCRIPTS)) expect(undeclared(script.source), script.name).toEqual([]);
  });
});
