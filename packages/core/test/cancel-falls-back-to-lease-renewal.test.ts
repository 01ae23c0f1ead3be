import { expect, it } from "vitest";
import { createMemoryEngine, flow, MemoryStore } from "../src/index.js";

/** A workflow whose one task runs until aborted, telling `onAbort` why. */
const holding = (name: string, onAbort: (reason: unknown) => void) =>
  flow<null>(name)
    .then(
      "hold",
      (_: null, ctx) =>
        new Promise<number>((_resolve, reject) =>
          ctx.signal.addEventListener("abort", () => (onAbort(ctx.signal.reason), reject(ctx.signal.reason as Error))),
        ),
    )
    .build();

it("a cancel message that never arrives is still heard at the next lease renewal, and the task is aborted", async () => {
  const store = new MemoryStore();
  // Pub/sub is at most once: this store loses every cancel message.
  store.onCancel = async () => async () => undefined;
  let aborted: unknown = null;
  const wf = holding("lost-cancel", (reason) => (aborted = reason));
  // A 150 ms lease is renewed every 50 ms.
  const engine = createMemoryEngine({ workflows: [wf], store, lease: 150 });
  try {
    await engine.start(wf, null, { id: "lost" });
    for (let i = 0; i < 100 && (await engine.status("lost")).status !== "running"; i++) await new Promise((r) => setTimeout(r, 5));
    await engine.cancel("lost");
    await engine.result("lost", { timeout: "5s" }).catch(() => undefined);
    expect(aborted).toMatchObject({ code: "CANCELLED" });
    expect((await engine.status("lost")).status).toBe("cancelled");
  } finally {
    await engine.close();
  }
});

it("a cancel message lost while the subscription was down is heard as soon as it is back, long before the next renewal", async () => {
  const store = new MemoryStore();
  // Every cancel message is lost; the store tells of the gap when the test says it is back.
  let gap: (() => void) | undefined;
  store.onCancel = async (_listener, onGap) => ((gap = onGap), async () => undefined);
  let aborted: unknown = null;
  const wf = holding("gap-cancel", (reason) => (aborted = reason));
  // A one-hour lease: its renewal (every 20 minutes) never comes within the test.
  const engine = createMemoryEngine({ workflows: [wf], store, lease: "1h" });
  try {
    await engine.start(wf, null, { id: "gap" });
    for (let i = 0; i < 100 && (await engine.status("gap")).status !== "running"; i++) await new Promise((r) => setTimeout(r, 5));
    await engine.cancel("gap");
    await new Promise((r) => setTimeout(r, 50));
    expect(aborted).toBeNull();
    gap?.();
    await engine.result("gap", { timeout: "5s" }).catch(() => undefined);
    expect(aborted).toMatchObject({ code: "CANCELLED" });
    expect((await engine.status("gap")).status).toBe("cancelled");
  } finally {
    await engine.close();
  }
});
