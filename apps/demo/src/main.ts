/**
 * The demo: start an order run on a durable engine, watch its steps commit,
 * see it park for its approval, send the approval signal, print the result.
 *
 * With no REDIS_URL it runs on the embedded in-memory engine: no services.
 * With REDIS_URL it uses a `ParkwayClient` and two worker processes (or the
 * workers of docker-compose, with PARKWAY_EXTERNAL_WORKERS=1), in the namespace
 * PARKWAY_NAMESPACE (default parkway): the client and the workers share it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createMemoryEngine, type DurableClient } from "@parkway/core";
import { orderWorkflow } from "./order.js";

const started = Date.now();
const log = (text: string) => console.log(`${String(Date.now() - started).padStart(6)}ms  ${text}`);

interface Setup {
  readonly client: DurableClient;
  readonly runId: string;
  stop(): Promise<void>;
}

/** The embedded engine: durable semantics in this process, in memory. */
function embedded(): Setup {
  const engine = createMemoryEngine({ workflows: [orderWorkflow] });
  log("engine: embedded, in memory (set REDIS_URL to run on Redis with worker processes)");
  return { client: engine, runId: "order-42", stop: () => engine.close() };
}

/** A client on Redis, and worker processes that advance the runs. */
async function distributed(redisUrl: string): Promise<Setup> {
  const { ParkwayClient } = await import("@parkway/bullmq");
  const namespace = process.env.PARKWAY_NAMESPACE || "parkway";
  const client = new ParkwayClient({ connection: redisUrl, namespace });
  const workers: ChildProcess[] = [];
  if (process.env.PARKWAY_EXTERNAL_WORKERS !== "1") {
    const main = fileURLToPath(new URL("../../worker/dist/main.js", import.meta.url));
    const module = fileURLToPath(new URL("./order.js", import.meta.url));
    for (let i = 0; i < 2; i++) {
      workers.push(
        spawn(process.execPath, [main, "--workflows", module, "--redis", redisUrl, "--namespace", namespace], {
          stdio: ["ignore", "inherit", "inherit"],
        }),
      );
    }
  }
  log(
    `engine: Redis at ${redisUrl}, namespace ${namespace}, ${workers.length > 0 ? `${workers.length} worker processes started by the demo` : "external workers"}`,
  );
  return {
    client,
    // A new id each time: starting an existing id would return the finished run of an earlier demo.
    runId: `order-${Date.now().toString(36)}`,
    async stop() {
      await client.close();
      await Promise.all(workers.map((w) => new Promise((resolve) => (w.once("exit", resolve), w.kill("SIGTERM")))));
    },
  };
}

const setup = process.env.REDIS_URL ? await distributed(process.env.REDIS_URL) : embedded();
const { client, runId } = setup;
const printed = new Set<string>();

/** Prints steps as they commit, until the run is parked or finished. */
async function follow(until: (status: string) => boolean): Promise<void> {
  for (;;) {
    const view = await client.status(runId);
    for (const step of view.steps) {
      if (printed.has(step.key)) continue;
      printed.add(step.key);
      log(`✓ ${step.key.padEnd(15)} ${JSON.stringify(step.output)}`);
    }
    if (until(view.status)) {
      if (view.status === "parked") {
        log(`run is parked, waiting for ${view.waitingFor.map((w) => (w.kind === "signal" ? `signal "${w.signal}"` : w.key)).join(", ")}`);
      }
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

try {
  const run = await client.start(orderWorkflow, { id: "42", items: ["book", "lamp"], amountCents: 4_990 }, { id: runId });
  log(`started run ${run.id}`);
  await follow((status) => status === "parked");

  // A person approves a moment later, as from a dashboard or another service.
  await new Promise((resolve) => setTimeout(resolve, 500));
  log('sending signal "approved" { by: "ana" }');
  await client.signal(run.id, "approved", { by: "ana" });

  await follow((status) => ["completed", "failed", "cancelled"].includes(status));
  log(`result: ${JSON.stringify(await client.result(run.id, { timeout: "30s" }))}`);
} finally {
  await setup.stop();
}
