/**
 * A worker whose Redis goes away says so plainly, once per reconnection
 * attempt (not a stack trace per retry), answers /readyz with 503 and the
 * reason, keeps trying, and goes on by itself when Redis is back.
 * Runs on a private redis-server: the shared one is never stopped.
 */
import { flow, type Logger } from "@parkway/core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { PrivateRedis } from "../../redis/test/private-redis.js";
import { ParkwayClient, startHealthServer, WorkflowWorker, type HealthServer } from "../src/index.js";
import { eventually } from "./helpers.js";

interface Line {
  readonly level: string;
  readonly msg: string;
  readonly fields: Record<string, unknown>;
}

/** A pino-style logger that keeps its lines. */
function recordingLogger(lines: Line[]): Logger {
  const at =
    (level: string) =>
    (first: object | string, msg?: string): void => {
      lines.push(
        typeof first === "string" ? { level, msg: first, fields: {} } : { level, msg: msg ?? "", fields: first as Record<string, unknown> },
      );
    };
  return { trace: at("trace"), debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

const echo = flow<string>("outage-echo")
  .then("echo", (s) => s)
  .build();

let redis: PrivateRedis;
let worker: WorkflowWorker;
let health: HealthServer;
const lines: Line[] = [];

beforeAll(async () => {
  redis = await PrivateRedis.onFreePort();
  await redis.start();
  worker = new WorkflowWorker({ connection: redis.url, workflows: [echo], namespace: "outage", logger: recordingLogger(lines) });
  await worker.start();
  health = await startHealthServer(worker, { port: 0 });
});

afterAll(async () => {
  await worker.close();
  await health.close();
  await redis.stop();
});

async function readyz(): Promise<{ status: number; body: { ready: boolean; reason?: string } }> {
  const response = await fetch(`http://127.0.0.1:${health.port}/readyz`);
  return { status: response.status, body: (await response.json()) as { ready: boolean; reason?: string } };
}

it("redis-outage-is-reported-once-per-retry-and-the-worker-recovers", async () => {
  expect(await readyz()).toEqual({ status: 200, body: { ready: true } });
  expect((await fetch(`http://127.0.0.1:${health.port}/healthz`)).status).toBe(200);

  await redis.stop();
  const outage = () => lines.filter((l) => l.msg.startsWith(`cannot reach Redis at 127.0.0.1:${redis.port}`));
  // The first backoffs are 1s and 2s: wait for the third attempt's line.
  await eventually(async () => outage().length >= 3, "three reconnection attempts reported", 20_000);
  const down = await readyz();
  expect(down.status).toBe(503);
  expect(down.body.reason).toBe(`cannot reach Redis at 127.0.0.1:${redis.port} (ECONNREFUSED)`);
  expect((await fetch(`http://127.0.0.1:${health.port}/healthz`)).status).toBe(200);

  await redis.start();
  await eventually(async () => lines.some((l) => l.msg === `Redis at 127.0.0.1:${redis.port} answers again`), "the recovery line", 20_000);

  // One line per attempt, however many connections the worker holds: attempts 1, 2, 3, ... each once.
  const attempts = outage().map((l) => l.fields.attempt);
  expect(attempts).toEqual(attempts.map((_, i) => i + 1));
  // The first attempt follows the dropped connection; the next ones find nothing listening.
  expect(outage()[0]?.msg).toBe(`cannot reach Redis at 127.0.0.1:${redis.port} (connection lost); retrying in 1s`);
  expect(outage()[1]?.msg).toBe(`cannot reach Redis at 127.0.0.1:${redis.port} (ECONNREFUSED); retrying in 2s`);
  // Nothing at error level: the outage is the watch's lines, not a stack per failed command.
  expect(lines.filter((l) => l.level === "error")).toEqual([]);

  // The same worker takes work again, without a restart.
  await eventually(async () => (await readyz()).status === 200, "readiness after the outage", 20_000);
  const client = new ParkwayClient({ connection: redis.url, namespace: "outage" });
  try {
    const { id } = await client.start(echo, "back");
    expect(await client.result(id, { timeout: "20s" })).toBe("back");
  } finally {
    await client.close();
  }
}, 60_000);
