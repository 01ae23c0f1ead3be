/**
 * A DBOS Transact worker process for the bench's peer: registers the bench
 * workflows (steps checkpointed in Postgres), launches DBOS listening to one
 * queue, and records the marked steps for the harness.
 *
 * Environment: BENCH_DBOS_URL (the system database), BENCH_DBOS_QUEUE, BENCH_DBOS_APP;
 * with BENCH_DBOS_MIGRATE set it only creates and migrates the database, then exits.
 */
import { DBOS } from "@dbos-inc/dbos-sdk";
import { createRecorder, exitWithParent, reportReady, type EventKind } from "../events.js";
import { burnCpu } from "../work.js";

const url = process.env.BENCH_DBOS_URL;
const queue = process.env.BENCH_DBOS_QUEUE;
const app = process.env.BENCH_DBOS_APP;
if (url && process.env.BENCH_DBOS_MIGRATE) {
  // Asked by the harness once, before any worker: create and migrate the system database.
  await DBOS.migrate(url);
  process.exit(0);
}
if (!url || !queue || !app) {
  console.error("dbos-worker needs BENCH_DBOS_URL, BENCH_DBOS_QUEUE and BENCH_DBOS_APP");
  process.exit(2);
}

const record = createRecorder();

/** A step that records `mark` for this workflow when it starts, then burns `workMs` of CPU (none by default). */
function step(name: string, value: number, mark?: EventKind, workMs = 0): Promise<number> {
  const id = DBOS.workflowID!;
  return DBOS.runStep(
    async () => {
      if (mark) record(mark, id);
      burnCpu(workMs);
      return value;
    },
    { name },
  );
}

async function linear(steps: number, workMs = 0): Promise<number> {
  let x = 0;
  for (let i = 1; i <= steps; i++) x = await step(`s${i}`, x, i === 1 ? "first" : undefined, workMs);
  return x;
}

async function fanout(branches: number): Promise<number> {
  const outputs = await Promise.all(Array.from({ length: branches }, (_, i) => step(`b${i}`, i, "first")));
  return step("join", outputs.length);
}

async function signal(): Promise<number> {
  // Recorded outside a step: it only tells the harness the run is about to wait.
  record("armed", DBOS.workflowID!);
  const payload = await DBOS.recv<number>("go", { timeoutSeconds: 3600 });
  return step("after", payload ?? -1, "resumed");
}

async function sleep(delayMs: number): Promise<number> {
  await step("arm", 0, "armed");
  await DBOS.sleep(delayMs);
  return step("woke", 0, "resumed");
}

DBOS.registerWorkflow(linear, { name: "linear" });
DBOS.registerWorkflow(fanout, { name: "fanout" });
DBOS.registerWorkflow(signal, { name: "signal" });
DBOS.registerWorkflow(sleep, { name: "sleep" });

DBOS.setConfig({
  name: app,
  systemDatabaseUrl: url,
  logLevel: "error",
  listenQueues: [queue],
  // One executor id per process, so no process recovers another's runs as its own at launch.
  executorID: `bench-${process.pid}`,
  runMigrations: false,
});
await DBOS.launch();
exitWithParent();
reportReady();

let stopping = false;
process.on("SIGTERM", () => {
  if (stopping) return;
  stopping = true;
  void DBOS.shutdown().then(() => process.exit(0));
});
