import { expect, it } from "vitest";
import { createMemoryEngine, flow, MemoryStore } from "../src/index.js";

it("a cancel message that never arrives is still heard at the next lease renewal, and the task is aborted", async () => {
  const store = new MemoryStore();
  // Pub/sub is at most once: this store loses every cancel message.
  store.onCancel = async () => async () => undefined;
  let aborted: unknown = null;
  const wf = flow<null>("lost-cancel")
    .then(
      "hold",
      (_: null, ctx) =>
        new Promise<number>((_resolve, reject) =>
          ctx.signal.addEventListener("abort", () => ((aborted = ctx.signal.reason), reject(ctx.signal.reason as Error))),
        ),
    )
    .build();
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
