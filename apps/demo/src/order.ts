/**
 * The demo's workflow: an order is reserved, charged and packed at the same
 * time, approved by a person (a signal), cooled off, then shipped.
 */
import { branch, flow, task } from "@parkway/core";

export interface Order {
  readonly id: string;
  readonly items: readonly string[];
  readonly amountCents: number;
}

export interface Approval {
  readonly by: string;
}

const work = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const reserve = task("reserve", async (order: Order) => {
  await work(40);
  return { ...order, reservation: `res-${order.id}` };
});

type Reserved = Order & { readonly reservation: string };

const charge = task(
  "charge",
  async (order: Reserved, ctx) => {
    await work(60);
    // A payment provider given ctx.idempotencyKey charges a retried or re-run step only once.
    return { chargeId: `ch_${order.id}`, idempotencyKey: ctx.idempotencyKey, amountCents: order.amountCents };
  },
  { retry: { maxAttempts: 5, backoff: { initial: "200ms", factor: 2, max: "10s" } }, timeout: "10s" },
);

const pack = task("pack", async (order: Reserved) => {
  await work(50);
  return { parcel: `parcel-${order.id}`, items: order.items.length };
});

export const orderWorkflow = flow<Order>("order")
  .then(reserve)
  .fork([branch("charge", charge), branch("pack", pack)])
  .join("merge", ({ charge, pack }) => ({ ...charge, ...pack }))
  .waitForSignal<Approval>("approval", "approved", { timeout: "2d" })
  .delay("cool-off", "300ms")
  .then("ship", (approval) => ({ shipped: true, approvedBy: approval.by, trackingId: `trk-${Date.now().toString(36)}` }))
  .build();
