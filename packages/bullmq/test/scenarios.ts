/** Scenarios run on more than one Redis set-up (one Redis; a Redis Cluster with partitions). */
import type { ChildProcess } from "node:child_process";
import type { Redis } from "ioredis";
import { expect } from "vitest";
import type { ParkwayClient } from "../src/index.js";
import { mixed } from "./fixtures/workflows.mjs";
import { eventually, ledgerCounts, startWorker } from "./helpers.js";

export interface SharedRunsSetup {
  readonly client: ParkwayClient;
  /** The connection that holds the ledger (REDIS_URL). */
  readonly ledger: Redis;
  readonly space: { readonly namespace: string; readonly ledger: string };
  /** Started workers are pushed here, for the caller to stop. */
  readonly workers: ChildProcess[];
  readonly runs: number;
  /** The worker's `--redis` and extra flags (`--partitions`). */
  readonly redis?: string;
  readonly flags?: readonly string[];
}

/**
 * Three worker processes share `runs` runs of delays, signals and forks: half the signals arrive
 * before the run waits (buffered), half after it parked. Every step runs exactly once.
 */
export async function threeWorkersShareRuns(setup: SharedRunsSetup): Promise<void> {
  const { client, space, workers, runs } = setup;
  const flags = ["--concurrency", "50", ...(setup.flags ?? [])];
  for (let i = 0; i < 3; i++) workers.push(await startWorker(space.namespace, space.ledger, flags, setup.redis));
  const ids = Array.from({ length: runs }, (_, i) => `mixed-${i}`);
  await Promise.all(ids.map((id, i) => client.start(mixed, { n: i }, { id })));
  await Promise.all(ids.filter((_, i) => i % 2 === 0).map((id, i) => client.signal(id, "go", { value: i })));
  await eventually(
    async () => (await client.list({ status: "parked", limit: 10_000 })).runs.length >= runs / 2 || undefined,
    "odd runs to park",
    60_000,
  );
  await Promise.all(ids.filter((_, i) => i % 2 === 1).map((id, i) => client.signal(id, "go", { value: i })));
  const results = await Promise.all(ids.map((id) => client.result(id, { timeout: "90s" })));
  expect(results).toHaveLength(runs);

  const counts = await ledgerCounts(setup.ledger, space.ledger);
  const steps = ["a", "left/inc", "right/double", "join", "end"];
  for (const id of ids) for (const step of steps) expect(counts.get(`${id}|${step}`), `${id}|${step}`).toBe(1);
  expect(counts.size).toBe(runs * steps.length);
}
