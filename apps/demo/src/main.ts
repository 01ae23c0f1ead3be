/**
 * The demo: an order goes through reserve → (charge ‖ pack) → merge → cool-off → ship,
 * in this process, printing each step as it finishes.
 */
import { branch, flow, runAsync, task } from "@parkway/core";

interface Order {
  readonly id: string;
  readonly items: readonly string[];
  readonly amountCents: number;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const reserve = task("reserve", async (order: Order) => {
  await pause(50);
  return { ...order, reservation: `res-${order.id}` };
});

const charge = task(
  "charge",
  async (order: Order & { reservation: string }, ctx) => {
    await pause(80);
    return { chargeId: `ch-${ctx.idempotencyKey.slice(-12)}`, amountCents: order.amountCents };
  },
  { retry: { maxAttempts: 3, backoff: { initial: "100ms" } }, timeout: "5s" },
);

const pack = task("pack", async (order: Order & { reservation: string }) => {
  await pause(60);
  return { parcel: `parcel-${order.id}`, items: order.items.length };
});

const order = flow<Order>("order")
  .then(reserve)
  .fork([branch("charge", charge), branch("pack", pack)])
  .join("merge", ({ charge, pack }) => ({ ...charge, ...pack }))
  .delay("cool-off", "200ms")
  .then("ship", (merged) => ({ shipped: true, ...merged }))
  .build();

const started = Date.now();
const result = await runAsync(
  order,
  { id: "42", items: ["book", "lamp"], amountCents: 4_990 },
  { onStep: ({ key, output }) => console.log(`${String(Date.now() - started).padStart(5)}ms  ${key.padEnd(14)} ${JSON.stringify(output)}`) },
);
console.log("result:", result);
