/**
 * The demo: start an order run on a durable engine, watch it park for its
 * approval, send the approval signal, and print the result.
 *
 * With no REDIS_URL it runs on the embedded in-memory engine: no services needed.
 */
import { createMemoryEngine, type DurableStepEvent } from "@parkway/core";
import { orderWorkflow } from "./order.js";

const started = Date.now();
const log = (text: string) => console.log(`${String(Date.now() - started).padStart(6)}ms  ${text}`);
const onStep = (e: DurableStepEvent) => log(`✓ ${e.key.padEnd(15)} ${JSON.stringify(e.output)}`);

const engine = createMemoryEngine({ workflows: [orderWorkflow], onStep });
log("engine: embedded, in-memory (set REDIS_URL to run on Redis with workers)");

const run = await engine.start(orderWorkflow, { id: "42", items: ["book", "lamp"], amountCents: 4_990 }, { id: "order-42" });
log(`started run ${run.id}`);

// Wait until the run parks on its approval, as a person would find it in a dashboard.
for (;;) {
  const view = await engine.status(run.id);
  if (view.status === "parked") {
    log(`run is parked, waiting for ${JSON.stringify(view.waitingFor.map((w) => (w.kind === "signal" ? `signal "${w.signal}"` : w.key)))}`);
    break;
  }
  await new Promise((resolve) => setTimeout(resolve, 20));
}

await new Promise((resolve) => setTimeout(resolve, 500));
log('sending signal "approved" { by: "ana" }');
await engine.signal(run.id, "approved", { by: "ana" });

const result = await engine.result(run.id, { timeout: "30s" });
log(`result: ${JSON.stringify(result)}`);
await engine.close();
