import { expect, it } from "vitest";
import { advanceRun, checkpointOptions, encode, flow, MemoryStore, realClock, WorkflowRegistry } from "../src/index.js";

/** A promise and its resolver. */
function gate(): { readonly opened: Promise<void>; readonly open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

/** A workflow of one run at a time whose run 0 holds its slot until `held` opens. */
function oneAtATime(name: string, held: Promise<void>) {
  return flow<number>(name, { concurrency: { limit: 1 } })
    .then("a", async (n) => (n === 0 ? await held : undefined, n))
    .build();
}

/** A memory store, checkpoint options that record the wake-ups asked for, and `count` runs started. */
async function setUp(wf: ReturnType<typeof oneAtATime>, store: MemoryStore, count: number) {
  const woken: string[] = [];
  const wokenOne = new Map<string, () => void>();
  const options = {
    ...checkpointOptions({ store, workflows: new WorkflowRegistry([wf]), clock: realClock }, {}),
    wake: (id: string) => (woken.push(id), wokenOne.get(id)?.()),
  };
  for (let n = 0; n < count; n++) await store.start({ id: `r${n}`, workflow: wf.name, hash: wf.hash, input: encode(n, { what: "input" }) });
  const wokenAt = (id: string) => new Promise<void>((resolve) => wokenOne.set(id, resolve));
  return { options, woken, wokenAt };
}

it("the slot a finishing run gives back goes to the next waiter, offered to the handoff first and woken when declined", async () => {
  const held = gate();
  const wf = oneAtATime("handed-over", held.opened);
  const store = new MemoryStore(realClock);
  const { options, woken } = await setUp(wf, store, 3);
  const offered: string[] = [];
  const holding = advanceRun(options, "r0", undefined, (id) => (offered.push(id), true));
  // Waiting only for a slot: a release wakes them, their deadline is a fallback.
  expect(await advanceRun(options, "r1")).toMatchObject({ outcome: "parked", onGrant: true });
  expect(await advanceRun(options, "r2")).toMatchObject({ outcome: "parked", onGrant: true });

  held.open();
  expect(await holding).toMatchObject({ outcome: "completed" });
  expect(offered).toEqual(["r1"]);
  expect(woken).toEqual([]);
  // Handed over, r1 finds its slot held; declining the next handoff leaves r2 to its wake-up.
  expect(await advanceRun(options, "r1", undefined, () => false)).toMatchObject({ outcome: "completed" });
  expect(woken).toEqual(["r2"]);
  expect(await advanceRun(options, "r2")).toMatchObject({ outcome: "completed" });
});

/** A memory store whose park of `r1` waits until `parking` is let go: a worker slow to write the park of a refused run. */
class SlowParkStore extends MemoryStore {
  readonly parking = gate();
  readonly parked = gate();
  override async park(...args: Parameters<MemoryStore["park"]>): ReturnType<MemoryStore["park"]> {
    if (args[0] === "r1") {
      this.parking.open();
      await this.parked.opened;
    }
    return super.park(...args);
  }
}

it("a run granted a slot while its worker had not yet parked it is woken once it has parked", async () => {
  const held = gate();
  const wf = oneAtATime("granted-early", held.opened);
  const store = new SlowParkStore(realClock);
  const { options, woken, wokenAt } = await setUp(wf, store, 2);
  const holding = advanceRun(options, "r0");
  const refused = advanceRun(options, "r1");
  await store.parking.opened;
  // r1 is refused and in line, not parked yet, when r0 gives its slot back: the grant finds it running.
  held.open();
  expect(await holding).toMatchObject({ outcome: "completed" });
  expect(woken).toEqual([]);
  const woke = wokenAt("r1");
  store.parked.open();
  expect(await refused).toMatchObject({ outcome: "parked" });
  await woke;
  expect(await advanceRun(options, "r1")).toMatchObject({ outcome: "completed" });
}, 15_000);

it("a run refused by a rate limit parks on a deadline no release wakes", async () => {
  const wf = flow<number>("one-an-hour", { rateLimit: { limit: 1, period: "1h" } })
    .then("a", (n) => n)
    .build();
  const store = new MemoryStore(realClock);
  const options = checkpointOptions({ store, workflows: new WorkflowRegistry([wf]), clock: realClock }, {});
  for (const id of ["first", "second"]) await store.start({ id, workflow: wf.name, hash: wf.hash, input: encode(1, { what: "input" }) });
  expect(await advanceRun(options, "first")).toMatchObject({ outcome: "completed" });
  expect(await advanceRun(options, "second")).toMatchObject({ outcome: "parked", onGrant: false });
});
