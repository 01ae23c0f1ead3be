/** The demo as the README runs it (`npm start`, and with REDIS_URL and PARKWAY_NAMESPACE): compiled, as a process. */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { dropNamespace } from "@parkway/bullmq";
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { REDIS_URL } from "../../../test/redis-url.js";

const MAIN = fileURLToPath(new URL("../dist/main.js", import.meta.url));

/** Runs the demo to its exit with `env` on top of this process's environment, less any REDIS_URL. */
async function demo(env: NodeJS.ProcessEnv): Promise<string> {
  const base = { ...process.env };
  delete base.REDIS_URL;
  delete base.PARKWAY_NAMESPACE;
  const { stdout } = await promisify(execFile)(process.execPath, [MAIN], { env: { ...base, ...env }, timeout: 90_000 });
  return stdout;
}

describe("the demo", () => {
  it("runs an order to its result on the embedded engine", async () => {
    const out = await demo({});
    expect(out).toContain("engine: embedded");
    expect(out).toMatch(/result: \{.*"approvedBy":"ana"/);
  });

  it("runs on Redis in the namespace PARKWAY_NAMESPACE names, its client and its workers alike", async () => {
    const namespace = `demo-${randomBytes(5).toString("hex")}`;
    const redis = new Redis(REDIS_URL);
    try {
      const out = await demo({ REDIS_URL, PARKWAY_NAMESPACE: namespace });
      expect(out).toContain(`namespace ${namespace}, 2 worker processes started by the demo`);
      expect(out).toMatch(/result: \{.*"approvedBy":"ana"/);
      // The run is in that namespace, not the default one.
      expect(await redis.keys(`{${namespace}}:*`)).not.toEqual([]);
    } finally {
      await dropNamespace(redis, namespace);
      redis.disconnect();
    }
  });
});
