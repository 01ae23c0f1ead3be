import type { Workflow } from "../builder/workflow.js";
import { FakeClock } from "../clock.js";
import { createMemoryEngine, type DurableRunnerOptions, type EmbeddedEngine } from "../engine/memory-engine.js";
import { MemoryStore } from "../store/memory.js";
import type { Store } from "../store/types.js";

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
