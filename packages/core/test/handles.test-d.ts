/**
 * Types of the client: the output type flows from the builder to a handle's
 * `result()`, `start` checks its input against the workflow's, and a signal's
 * payload is typed by its definition where it waits and where it is sent.
 */
import { describe, expectTypeOf, it } from "vitest";
import { z } from "zod";
import {
  defineSignal,
  flow,
  type DurableClient,
  type RunHandle,
  type RunView,
  type SignalDefinition,
  type SignalOutput,
  type SignalPayload,
} from "../src/index.js";

interface Order {
  readonly id: string;
  readonly total: number;
}
interface Approval {
  readonly by: string;
}

declare const client: DurableClient;

const approved = defineSignal<Approval>("approved");
const shipped = defineSignal("shipped", { schema: z.object({ carrier: z.string(), at: z.string().transform((s) => new Date(s)) }) });

const order = flow<Order>("order")
  .then("reserve", (o) => ({ ...o, reserved: true as const }))
  .waitForSignal("approval", approved)
  .then("ship", (a) => ({ shippedBy: a.by }))
  .build();

describe("defineSignal", () => {
  it("types the payload from the type argument, or from the schema's input and output", () => {
    expectTypeOf(approved).toEqualTypeOf<SignalDefinition<Approval>>();
    expectTypeOf<SignalPayload<typeof shipped>>().toEqualTypeOf<{ carrier: string; at: string }>();
    expectTypeOf<SignalOutput<typeof shipped>>().toEqualTypeOf<{ carrier: string; at: Date }>();
  });

  it("passes the payload type (a schema's output) to the step after the wait", () => {
    flow<number>("w")
      .waitForSignal("a", approved)
      .then("next", (a) => {
        expectTypeOf(a).toEqualTypeOf<Approval>();
        return a.by;
      });
    flow<number>("w")
      .waitForSignal("s", shipped, { timeout: "1h" })
      .then("next", (s) => {
        expectTypeOf(s.at).toEqualTypeOf<Date>();
        return s.carrier;
      });
  });

  it("checks onTimeout against the signal's payload type", () => {
    flow<number>("w").waitForSignal("a", approved, { onTimeout: { by: "nobody" } });
    // @ts-expect-error onTimeout must be an Approval
    flow<number>("w").waitForSignal("a", approved, { onTimeout: 5 });
  });
});

describe("start and handles", () => {
  it("returns a handle whose result() has the workflow's output type", async () => {
    const run = await client.start(order, { id: "o-1", total: 5 });
    expectTypeOf(run).toEqualTypeOf<RunHandle<{ shippedBy: string }>>();
    expectTypeOf(run.result()).resolves.toEqualTypeOf<{ shippedBy: string }>();
    expectTypeOf(run.status()).resolves.toEqualTypeOf<RunView>();
    expectTypeOf(run.id).toBeString();
    expectTypeOf(run.created).toBeBoolean();
  });

  it("checks the input against the workflow's input type", async () => {
    await client.start(order, { id: "o-1", total: 5 });
    // @ts-expect-error total must be a number
    await client.start(order, { id: "o-1", total: "5" });
    // @ts-expect-error the input is an Order, not a number
    await client.start(order, 42);
  });

  it("types a handle made for an existing run by its workflow", async () => {
    const run = client.handle(order, "o-1");
    expectTypeOf(run).toEqualTypeOf<RunHandle<{ shippedBy: string }>>();
    expectTypeOf(await run.result({ timeout: "1m" })).toEqualTypeOf<{ shippedBy: string }>();
  });

  it("a workflow started by name has an unknown output", async () => {
    expectTypeOf(await client.start("order", {})).toEqualTypeOf<RunHandle<unknown>>();
  });
});

describe("sending a signal", () => {
  it("type-checks the payload against the signal definition", async () => {
    const run = await client.start(order, { id: "o-1", total: 5 });
    await run.signal(approved, { by: "ana" });
    await client.signal("o-1", approved, { by: "ana" });
    await client.signal("o-1", shipped, { carrier: "dhl", at: "2024-01-01" });
    // @ts-expect-error by must be a string
    await run.signal(approved, { by: 1 });
    // @ts-expect-error the payload is required
    await client.signal("o-1", approved);
    // @ts-expect-error a sender passes the schema's input (a string), not its output
    await client.signal("o-1", shipped, { carrier: "dhl", at: new Date() });
  });

  it("keeps plain names working, untyped", async () => {
    await client.signal("o-1", "approved", { anything: true });
    await client.signal("o-1", "approved");
    const run = client.handle(order, "o-1");
    await run.signal("approved", 42);
  });
});
