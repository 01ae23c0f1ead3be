/**
 * `parkway --version` reads the package's own package.json from both builds:
 * `dist/` and `dist/cjs/`, one directory deeper.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { PARKWAY } from "./helpers.js";

const VERSION = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;
const CJS_PROGRAM = fileURLToPath(new URL("../dist/cjs/program.js", import.meta.url));
const run = promisify(execFile);

describe("parkway --version", () => {
  it("from the ES module build", async () => {
    expect((await run(process.execPath, [PARKWAY, "--version"])).stdout.trim()).toBe(VERSION);
  });

  it("from the CommonJS build", async () => {
    const script = `require(${JSON.stringify(CJS_PROGRAM)}).runCli(["--version"], { stdout: process.stdout, stderr: process.stderr, env: {} })`;
    expect((await run(process.execPath, ["-e", script])).stdout.trim()).toBe(VERSION);
  });
});
