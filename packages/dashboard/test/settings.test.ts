import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readSettings, wantsHelp } from "../src/server/settings.js";

describe("dashboard settings", () => {
  it("binds to 127.0.0.1:4400 in the namespace parkway by default, with no Redis unless one is given", () => {
    expect(readSettings([], {})).toEqual({
      redis: null,
      workflowsModule: null,
      namespace: "parkway",
      partitions: 1,
      host: "127.0.0.1",
      port: 4400,
      token: null,
      readToken: null,
    });
  });

  it("takes flags over the environment, and the token from the environment only", () => {
    const env = {
      REDIS_URL: "redis://env:6379",
      PARKWAY_DASHBOARD_PORT: "5000",
      PARKWAY_DASHBOARD_HOST: "::1",
      PARKWAY_DASHBOARD_TOKEN: "t",
      PARKWAY_DASHBOARD_READ_TOKEN: "r",
    };
    expect(readSettings(["--port", "0", "--redis", "redis://flag:6379"], env)).toMatchObject({
      redis: "redis://flag:6379",
      host: "::1",
      port: 0,
      token: "t",
      readToken: "r",
    });
    expect(() => readSettings(["--token", "t"], {})).toThrow(/Unknown option '--token'/);
  });

  it("takes a partition count from 1 to 128, by flag or PARKWAY_PARTITIONS", () => {
    expect(readSettings(["--partitions", "6"], {}).partitions).toBe(6);
    expect(readSettings([], { PARKWAY_PARTITIONS: "4" }).partitions).toBe(4);
    for (const bad of ["0", "129", "2.5", "six"]) {
      expect(() => readSettings(["--partitions", bad], {})).toThrow(/--partitions must be an integer from 1 to 128/);
    }
  });

  it("resolves a relative --workflows path from the working directory, whatever npm script runs it", () => {
    expect(readSettings(["--workflows", "flows.js"], {}).workflowsModule).toBe(join(process.cwd(), "flows.js"));
    const npmRun = { npm_package_name: "my-app", INIT_CWD: "/home/ana/my-app/src" };
    expect(readSettings([], { ...npmRun, PARKWAY_WORKFLOWS: "./flows.js" }).workflowsModule).toBe(join(process.cwd(), "flows.js"));
    expect(readSettings(["--workflows", "/srv/flows.js"], npmRun).workflowsModule).toBe("/srv/flows.js");
  });

  it("recognises --help and -h", () => {
    expect(wantsHelp(["--redis", "redis://x", "--help"])).toBe(true);
    expect(wantsHelp(["-h"])).toBe(true);
    expect(wantsHelp(["--port", "0"])).toBe(false);
  });

  it("rejects a port that is not a port number", () => {
    expect(() => readSettings(["--port", "http"], {})).toThrow(/--port must be a port number/);
    expect(() => readSettings(["--port", "70000"], {})).toThrow(/--port must be a port number/);
  });
});
