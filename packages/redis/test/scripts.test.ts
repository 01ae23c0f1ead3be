import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { loadScript, SCRIPTS } from "../src/scripts.js";

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
