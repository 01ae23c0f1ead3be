/**
 * Bad input through `ParkwayClient`, with a real worker process running: each
 * call gets a typed error naming what was wrong, and the store is left byte
 * for byte as it was. The behaviour and bad-input suites of @parkway/core run
 * the same calls on the embedded engines; this file checks the Redis client
 * and the worker processes.
 */
import type { ChildProcess } from "node:child_process";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ParkwayClient } from "../src/index.js";
import { cyclicOutput, hugeOutput, parked, workflows } from "./fixtures/bad-input-workflows.mjs";
import { eventually, REDIS_URL, startWorker, stopWorker, testSpace } from "./helpers.js";

const BAD_INPUT_WORKFLOWS = new URL("./fixtures/bad-input-workflows.mjs", import.meta.url).pathname;
const space = testSpace();
let redis: Redis;
let client: ParkwayClient;
let worker: ChildProcess;

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  client = new ParkwayClient({ connection: REDIS_URL, namespace: space.namespace, workflows });
  worker = await startWorker(space.namespace, space.ledger, ["--workflows", BAD_INPUT_WORKFLOWS]);
});

afterAll(async () => {
  await stopWorker(worker, "SIGKILL");
  await client.close();
  await space.cleanup(redis);
  await redis.quit();
});

/**
 * Every key the store owns (not BullMQ's, nor the worker registry, which the worker's heartbeat
 * renews), dumped exactly: equal dumps mean nothing was written.
 */
async function storeDump(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `{${space.namespace}}:*`, "COUNT", 1000);
    cursor = next;
    for (const key of keys.filter((k) => !/^\{[^}]+\}:((bull|wakes|worker):|workers$)/.test(k))) {
      out[key] = (await redis.dumpBuffer(key))?.toString("base64") ?? "";
    }
  } while (cursor !== "0");
  return out;
}

const settled = (id: string) =>
  eventually(async () => {
    const view = await client.status(id);
    return ["parked", "completed", "failed", "cancelled"].includes(view.status) ? view : undefined;
  }, `run "${id}" to settle`);

describe("bad input through ParkwayClient", () => {
  it("every bad call is refused with a typed error, and the store is left byte for byte as it was", async () => {
    await client.start(parked, 1, { id: "waiting" });
    await client.start(parked, 2, { id: "completed" });
    await settled("completed");
    await client.signal("completed", "go", "yes");
    expect(await client.result("completed", { timeout: "20s" })).toEqual({ echoed: "yes" });
    expect((await settled("waiting")).status).toBe("parked");
    const before = await storeDump();

    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const small = new ParkwayClient({ connection: REDIS_URL, namespace: space.namespace, maxPayloadBytes: 64 });
    const noRegistry = new ParkwayClient({ connection: REDIS_URL, namespace: space.namespace });
    const refused: [string, () => Promise<unknown>][] = [
      ["UNKNOWN_WORKFLOW", () => client.start("no-such-workflow", 1)],
      ["VALIDATION", () => noRegistry.start("bad-parked", 1)],
      ["VALIDATION", () => client.start({} as typeof parked, 1)],
      ...["signal", "status", "result", "cancel", "pause", "resume"].map((op): [string, () => Promise<unknown>] => [
        "UNKNOWN_INSTANCE",
        () => (client as unknown as Record<string, (id: string, ...rest: unknown[]) => Promise<unknown>>)[op]!("ghost", "go"),
      ]),
      ...["signal", "cancel", "pause", "resume"].map((op): [string, () => Promise<unknown>] => [
        "RUN_FINISHED",
        () => (client as unknown as Record<string, (id: string, ...rest: unknown[]) => Promise<unknown>>)[op]!("completed", "go"),
      ]),
      ["CODEC", () => client.signal("waiting", "go", () => "a function")],
      ["CODEC", () => client.signal("waiting", "go", cyclic)],
      ["CODEC", () => client.signal("waiting", "go", { nested: [Symbol("no")] })],
      ["CODEC", () => client.start(parked, (() => 1) as unknown as number, { id: "fn-input" })],
      ["PAYLOAD_TOO_LARGE", () => small.signal("waiting", "go", "x".repeat(100))],
      ["PAYLOAD_TOO_LARGE", () => small.start(parked, "x".repeat(100) as unknown as number, { id: "too-big" })],
      ["VALIDATION", () => client.signal(undefined as unknown as string, "go", 1)],
      ["VALIDATION", () => client.signal("waiting", undefined as unknown as string, 1)],
      ["VALIDATION", () => client.status(undefined as unknown as string)],
      ...[42, null, {}, "", "x".repeat(513)].flatMap((bad): [string, () => Promise<unknown>][] => [
        ["VALIDATION", () => client.start(parked, 1, { id: bad as string })],
        ["VALIDATION", () => client.signal(bad as string, "go", 1)],
        ["VALIDATION", () => client.signal("waiting", bad as string, 1)],
        ["VALIDATION", () => client.status(bad as string)],
        ["VALIDATION", () => client.cancel(bad as string)],
        ["VALIDATION", () => client.list({ workflow: bad as string })],
      ]),
      ["VALIDATION", () => client.signal("waiting", "go", 1, { deliveryId: "" })],
      ["VALIDATION", () => client.list({ status: "sleeping" as "parked" })],
      ["VALIDATION", () => client.list({ limit: 0 })],
      ["VALIDATION", () => client.result("waiting", { timeout: "soon" as "1s" })],
    ];
    for (const namespace of ["", 7]) {
      expect(() => new ParkwayClient({ connection: REDIS_URL, namespace: namespace as string })).toThrow(
        expect.objectContaining({ code: "VALIDATION" }),
      );
    }
    for (const [code, call] of refused) {
      const error = await call().then(
        () => null,
        (e: unknown) => e,
      );
      expect(error, `${call.toString()} should fail with ${code}`).toMatchObject({ code });
    }
    await small.close();
    await noRegistry.close();
    expect(await storeDump()).toEqual(before);

    // The run that was there all along is unharmed.
    await client.signal("waiting", "go", "still here");
    expect(await client.result("waiting", { timeout: "20s" })).toEqual({ echoed: "still here" });
  });

  it("a task output that cannot be stored fails its run with a typed error naming the step; committed steps stay", async () => {
    await client.start(cyclicOutput, null, { id: "cyclic" });
    await client.start(hugeOutput, null, { id: "huge" });
    for (const [id, code, pattern] of [
      ["cyclic", "CODEC", /step "loop".*cyclic/],
      ["huge", "PAYLOAD_TOO_LARGE", /step "huge".*over the \d+-byte limit/],
    ] as const) {
      await expect(client.result(id, { timeout: "20s" })).rejects.toMatchObject({ code: "RUN_FAILED", cause: { code } });
      const view = await client.status(id);
      expect(view.error).toMatchObject({ code, context: { instanceId: id } });
      expect(view.error?.message).toMatch(pattern);
      expect(view.steps.map((s) => s.key)).toEqual(["fine"]);
    }
  });
});
