/**
 * The warning about Redis without AOF, against private Redis servers (on
 * Unix sockets) configured each way: appendonly no, appendonly yes, and
 * CONFIG renamed away as managed Redis does.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, expect, it } from "vitest";
import { storeOn } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "parkway-aof-"));
const servers: ChildProcess[] = [];

afterAll(() => {
  for (const server of servers) server.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

/** A private redis-server with `args`, and a connection to it. */
async function server(name: string, args: readonly string[]): Promise<Redis> {
  const socket = join(dir, `${name}.sock`);
  const child = spawn("redis-server", ["--port", "0", "--unixsocket", socket, "--dir", dir, "--save", "", ...args], { stdio: "ignore" });
  servers.push(child);
  // Commands wait in the offline queue while the server starts; connection errors until then are expected.
  const redis = new Redis({ path: socket, retryStrategy: () => 50, maxRetriesPerRequest: null });
  redis.on("error", () => {});
  await redis.ping();
  return redis;
}

async function warningsOn(redis: Redis): Promise<string[]> {
  const warnings: string[] = [];
  const store = storeOn(redis, "aof-check", { onWarning: (message) => warnings.push(message) });
  await store.checkPersistence();
  await store.checkPersistence();
  await store.close();
  await redis.quit();
  return warnings;
}

it("warns once when Redis keeps no append-only file, saying what a restart loses", async () => {
  const warnings = await warningsOn(await server("no-aof", ["--appendonly", "no"]));
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toMatch(/appendonly no.*restart.*losing.*appendonly yes/);
});

it("says nothing when AOF is on, or when Redis refuses CONFIG", async () => {
  expect(await warningsOn(await server("aof", ["--appendonly", "yes", "--appendfilename", "aof.aof"]))).toEqual([]);
  expect(await warningsOn(await server("no-config", ["--appendonly", "no", "--rename-command", "CONFIG", '""']))).toEqual([]);
});
