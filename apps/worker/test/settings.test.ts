import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { ValidationError } from "@parkway/core";
import { describe, expect, it } from "vitest";
import { readSettings } from "@parkway/worker";

const flags = (...argv: string[]) => readSettings(["--workflows", "w.mjs", ...argv], {});

describe("parkway-worker flags", () => {
  it("every numeric flag has a range, named when it is left", () => {
    expect(() => flags("--lease", "0")).toThrow(ValidationError);
    expect(() => flags("--lease", "0")).toThrow(/--lease must be between 50ms and 1d/);
    expect(() => flags("--sweep", "0")).toThrow(/--sweep must be between 100ms and 1h/);
    expect(() => flags("--blocked-retry", "0")).toThrow(/--blocked-retry must be between 10ms and 1d/);
    expect(() => flags("--concurrency", "0")).toThrow(/--concurrency must be an integer between 1 and 10000/);
    expect(() => flags("--concurrency", "1.5")).toThrow(/--concurrency/);
    expect(() => flags("--shutdown-grace", "2h")).toThrow(/--shutdown-grace must be between 0ms and 1h/);
    expect(() => readSettings(["--workflows", "w.mjs"], { PARKWAY_SWEEP: "0" })).toThrow(/--sweep/);
  });

  it("reads --shutdown-grace and its environment variable", () => {
    expect(flags("--shutdown-grace", "5s").shutdownGraceMs).toBe(5000);
    expect(readSettings(["--workflows", "w.mjs"], { PARKWAY_SHUTDOWN_GRACE: "0" }).shutdownGraceMs).toBe(0);
    expect(flags().shutdownGraceMs).toBeUndefined();
  });

  it("a flag out of range exits 2 before connecting", async () => {
    const main = fileURLToPath(new URL("../dist/main.js", import.meta.url));
    const run = promisify(execFile)(process.execPath, [main, "--workflows", "w.mjs", "--lease", "0"]);
    await expect(run).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/--lease must be between/) });
  });
});
