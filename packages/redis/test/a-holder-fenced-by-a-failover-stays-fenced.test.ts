/**
 * A failover to a replica that lagged rolls a run back: the commits its
 * holder made while the replica lagged are gone, and the run's version with
 * them. The holder still has the version of its last (lost) commit; once its
 * lease lapses on the new master, the run is handed to another worker. Were
 * a handover one more write (+1), the new holder would get the very version
 * the old one writes with, and both would commit. A handover's version comes
 * from the store's clock, so the old holder stays fenced.
 */
import { StaleVersionError } from "@parkway/core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { RedisStore } from "../src/index.js";
import { LocalCluster } from "./cluster.js";
import { payload, randomNamespace } from "./helpers.js";

const LEASE = 1000;
let cluster: LocalCluster;
let store: RedisStore;

beforeAll(async () => {
  cluster = await LocalCluster.start({ replicas: 1 });
  store = new RedisStore({ connection: cluster.urls, namespace: randomNamespace(), onWarning: () => {} });
}, 60_000);

afterAll(async () => {
  await store?.close();
  await cluster?.stop();
});

/** Acquires `id` once the lease of its holder lapses (the store's clock says when). */
async function takeOver(id: string) {
  for (;;) {
    const got = await store.acquire(id, LEASE);
    if (got.acquired) return got.run;
    if (got.reason !== "busy") throw new Error(`run ${id} was ${got.reason}`);
    await new Promise((resolve) => setTimeout(resolve, Math.max(10, (got.dueAt ?? got.now) - got.now)));
  }
}

it("a worker whose commits a failover rolled back shares no version with the run's next holder", async () => {
  const id = "fenced-by-a-failover";
  await store.start({ id, workflow: "wf", hash: "h", input: payload("in") });
  const first = await store.acquire(id, LEASE);
  if (!first.acquired) throw new Error(`not acquired: ${first.reason}`);
  const master = cluster.node(await cluster.masterOf(store.layoutOf(id).header(id)));
  await cluster.replicated(master);

  // The first holder commits step "a" while the replica lags; the master acknowledges it, then dies.
  let held = first.run.header.version;
  const failover = await cluster.failOver(master, {
    promotion: "takeover",
    whileReplicaLags: async () => {
      const committed = await store.commit(id, held, "a", payload("first's a"), 1, LEASE);
      held = committed.version;
    },
  });
  expect(failover.promoted).not.toBe(master);
  const rolledBack = await store.get(id);
  expect(rolledBack?.outputs.has("a")).toBe(false);
  expect(rolledBack?.header.version).toBe(first.run.header.version);

  // Its lease lapses on the new master: the run is handed over, and the first holder is fenced.
  const second = await takeOver(id);
  expect(second.header.version).not.toBe(held);
  await expect(store.commit(id, held, "b", payload("first's b"), 1, LEASE)).rejects.toBeInstanceOf(StaleVersionError);
  await expect(store.commit(id, second.header.version, "a", payload("second's a"), 1, LEASE)).resolves.toMatchObject({ ok: true });
  const outputs = (await store.get(id))!.outputs;
  expect([...outputs.keys()]).toEqual(["a"]);
  expect(new TextDecoder().decode(outputs.get("a"))).toBe("second's a");
});
