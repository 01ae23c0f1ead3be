import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startDemoEngine } from "../src/server/demo.js";
import { readSettings } from "../src/server/settings.js";

describe("dashboard settings", () => {
  it("binds to 127.0.0.1:4400 and runs the embedded demo by default", () => {
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

  it("resolves a relative --workflows path from the directory the user ran the command in", () => {
    // `npm run dashboard` starts the process in apps/dashboard; npm passes the user's directory as INIT_CWD.
    const npmRun = { npm_package_name: "@parkway/dashboard", INIT_CWD: "/home/ana/parkway" };
    expect(readSettings(["--workflows", "apps/demo/dist/order.js"], npmRun).workflowsModule).toBe(
      "/home/ana/parkway/apps/demo/dist/order.js",
    );
    expect(readSettings([], { ...npmRun, PARKWAY_WORKFLOWS: "./flows.js" }).workflowsModule).toBe("/home/ana/parkway/flows.js");
    expect(readSettings(["--workflows", "/srv/flows.js"], npmRun).workflowsModule).toBe("/srv/flows.js");
    // Run directly, or by another package's script (whose INIT_CWD is not where it runs): the working directory.
    expect(readSettings(["--workflows", "flows.js"], {}).workflowsModule).toBe(join(process.cwd(), "flows.js"));
    const otherScript = { npm_package_name: "my-app", INIT_CWD: "/home/ana/my-app" };
    expect(readSettings(["--workflows", "flows.js"], otherScript).workflowsModule).toBe(join(process.cwd(), "flows.js"));
  });

  it("takes a partition count from 1 to 128, by flag or PARKWAY_PARTITIONS", () => {
    expect(readSettings(["--partitions", "6"], {}).partitions).toBe(6);
    expect(readSettings([], { PARKWAY_PARTITIONS: "4" }).partitions).toBe(4);
    for (const bad of ["0", "129", "2.5", "six"]) {
      expect(() => readSettings(["--partitions", bad], {})).toThrow(/--partitions must be an integer from 1 to 128/);
    }
  });

  it("rejects a port that is not a port number", () => {
    expect(() => readSettings(["--port", "http"], {})).toThrow(/--port must be a port number/);
    expect(() => readSettings(["--port", "70000"], {})).toThrow(/--port must be a port number/);
  });
});

describe("the embedded demo", () => {
  it("seeds parked, completed, paused and failed runs", async () => {
    const engine = await startDemoEngine();
    try {
      const { runs } = await engine.list({ order: "oldest" });
      const byStatus = (status: string) => runs.filter((r) => r.status === status).map((r) => r.id);
      expect(byStatus("parked")).toEqual(["order-1001", "order-1002", "order-1003"]);
      expect(byStatus("completed").sort()).toEqual(["order-1004", "restock-oak-shelf"]);
      expect(byStatus("paused")).toEqual(["order-1005"]);
      expect(byStatus("failed")).toEqual(["restock-discontinued-lamp"]);
    } finally {
      await engine.close();
    }
  });
});
