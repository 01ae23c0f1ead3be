/**
 * The dashboard's embedded demo: with no Redis given, `npm run dashboard` runs
 * the order workflow (and a restock workflow with a route and a loop) on an
 * in-memory engine and seeds a few runs, so a new user sees parked, completed,
 * failed and paused runs, and can approve an order, at once.
 */
import {
  createMemoryEngine,
  flow,
  LoopResult,
  NonRetryableError,
  task,
  type EmbeddedEngine,
  type MemoryStore,
  type RunStatus,
  type Workflow,
} from "@parkway/core";
import { orderWorkflow, type Order } from "./order.js";

interface Restock {
  readonly sku: string;
  readonly supplier: "local" | "overseas";
  readonly polls: number;
}

const placeOrder = (where: string) => (r: Restock) => ({ ...r, purchaseOrder: `po-${where}-${r.sku}` });

/** Restocks a product: checks stock, routes to a supplier, polls it until it confirms, then books the delivery. */
export const restockWorkflow = flow<Restock>("restock")
  .then("check-stock", (r: Restock) => ({ ...r, onHand: r.sku.length % 3 }))
  .route("by-supplier", (r) => r.supplier, ["local", "overseas"] as const)
  .branch("local", task("order-local", placeOrder("local")))
  .branch("overseas", flow<Restock>("overseas").then("order-overseas", placeOrder("overseas")).delay("customs", "300ms").build())
  .done()
  .loop("poll-supplier", (r) => (r.polls >= 2 ? LoopResult.done(r) : LoopResult.again({ ...r, polls: r.polls + 1 })), {
    maxIterations: 5,
  })
  .then("book-delivery", (r) => {
    // A supplier's refusal will not change on retry: fail at once, so the run shows a failed step.
    if (r.sku === "discontinued-lamp") throw new NonRetryableError(`the supplier no longer makes "${r.sku}"`);
    return { sku: r.sku, purchaseOrder: r.purchaseOrder, delivery: "next monday" };
  })
  .build();

/** The workflows the embedded demo runs. */
export const demoWorkflows: readonly Workflow<never, unknown>[] = [orderWorkflow, restockWorkflow];

const order = (n: number, items: readonly string[], amountCents: number): Order => ({ id: String(n), items, amountCents });

/**
 * Starts the embedded engine with the demo workflows and seeds runs: three
 * orders parked on "approved", one approved and completed, one paused, a
 * completed restock and a failed one.
 */
export async function startDemoEngine(): Promise<EmbeddedEngine<MemoryStore>> {
  const engine = createMemoryEngine({ workflows: demoWorkflows });
  try {
    await seed(engine);
  } catch (error) {
    await engine.close();
    throw error;
  }
  return engine;
}

async function seed(engine: EmbeddedEngine<MemoryStore>): Promise<void> {
  const orders: [string, Order][] = [
    ["order-1001", order(1001, ["book", "lamp"], 4_990)],
    ["order-1002", order(1002, ["kettle"], 2_450)],
    ["order-1003", order(1003, ["desk", "chair", "lamp"], 38_900)],
    ["order-1004", order(1004, ["mug"], 990)],
    ["order-1005", order(1005, ["rug"], 12_000)],
  ];
  await Promise.all(orders.map(([id, input]) => engine.start(orderWorkflow, input, { id })));
  await engine.start(restockWorkflow, { sku: "oak-shelf", supplier: "overseas", polls: 0 }, { id: "restock-oak-shelf" });
  await engine.start(restockWorkflow, { sku: "discontinued-lamp", supplier: "local", polls: 0 }, { id: "restock-discontinued-lamp" });
  await Promise.all(orders.map(([id]) => reach(engine, id, "parked")));

  await engine.signal("order-1004", "approved", { by: "ana" });
  await engine.pause("order-1005");
  await Promise.all([
    engine.result("order-1004", { timeout: "10s" }),
    engine.result("restock-oak-shelf", { timeout: "10s" }),
    engine.result("restock-discontinued-lamp", { timeout: "10s" }).catch(() => undefined),
  ]);
}

/** Waits until run `id` has `status` (seeding takes a few hundred milliseconds). */
async function reach(engine: EmbeddedEngine, id: string, status: RunStatus): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await engine.status(id)).status !== status) {
    if (Date.now() > deadline) throw new Error(`demo run "${id}" did not become ${status}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
