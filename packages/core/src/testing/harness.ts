import type { Workflow } from "../builder/workflow.js";
import { FakeClock } from "../clock.js";
import { createMemoryEngine, type DurableRunnerOptions, type EmbeddedEngine } from "../engine/memory-engine.js";
import { MemoryStore } from "../store/memory.js";
import type { Store } from "../store/types.js";
import type { RunView } from "../engine/client.js";

/** An engine as the behaviour suite drives it. */
export type EngineUnderTest = EmbeddedEngine<Store>;

/** What the behaviour suite needs from a store to test it. */
export interface EngineHarness {
  /** A new engine on a new, empty store. */
  create(workflows: readonly Workflow<never, unknown>[], options?: DurableRunnerOptions): Promise<EngineUnderTest>;
  /**
   * A second engine on the data `engine` holds, as a process restarted after a
   * crash would see it. `engine` is abandoned, not closed: its in-flight work
   * may still try to write, and must be fenced.
   */
  reopen(engine: EngineUnderTest, workflows: readonly Workflow<never, unknown>[], options?: DurableRunnerOptions): Promise<EngineUnderTest>;
  /** Lets `ms` of store time pass, firing what falls due. */
  advance(ms: number): Promise<void>;
  /** Closes everything created. */
  cleanup(): Promise<void>;
}

/** The harness of the memory store: a fake clock, and restarts from a deep copy of the store. */
export function memoryHarness(): EngineHarness {
  const clock = new FakeClock();
  const engines: EngineUnderTest[] = [];
  const track = (engine: EngineUnderTest) => {
    engines.push(engine);
    return engine;
  };
  return {
    async create(workflows, options = {}) {
      return track(createMemoryEngine({ ...options, workflows, clock }));
    },
    async reopen(engine, workflows, options = {}) {
      const copy = new MemoryStore(clock, (engine.store as MemoryStore).snapshot());
      return track(createMemoryEngine({ ...options, workflows, clock, store: copy }));
    },
    advance: (ms) => clock.advance(ms),
    async cleanup() {
      await Promise.all(engines.map((e) => Promise.race([e.close(), new Promise((r) => setTimeout(r, 100))])));
    },
  };
}

/** Waits on a run's status through the client API, letting the harness's due work run between looks. */
export function statusWaits(harness: () => EngineHarness) {
  /** Waits (advancing no store time) until the run's status satisfies `accept`. */
  async function until(e: EngineUnderTest, id: string, accept: (v: RunView) => boolean, what: string): Promise<RunView> {
    let last: RunView | undefined;
    for (let i = 0; i < 400; i++) {
      await harness().advance(0);
      last = await e.status(id);
      if (accept(last)) return last;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    throw new Error(`run "${id}" never became ${what}; last status ${last?.status} ${JSON.stringify(last?.waitingFor)}`);
  }
  return {
    until,
    parked: (e: EngineUnderTest, id: string) => until(e, id, (v) => v.status === "parked", "parked"),
    finished: (e: EngineUnderTest, id: string) => until(e, id, (v) => ["completed", "failed", "cancelled"].includes(v.status), "finished"),
  };
}
