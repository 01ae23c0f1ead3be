/**
 * What each kind of run of the fault suite must end with: its commit keys, the
 * keys that are recorded tasks, its signal waits and its result, as a function
 * of the run's number `n` (its input is `{ v: n }`). A race's keys depend on
 * its winner and a migrated run's on the definition it ended on, so a spec may
 * read the stored run.
 */
import { migratedV2 } from "./fixtures/fault-workflows.mjs";
import type { Kind } from "./load.js";

export interface Spec {
  /** Every commit key of a run that ended as planned. */
  readonly keys: readonly string[];
  /** The keys that are recorded tasks (the others are delays, signal waits, routes, items, compensations). */
  readonly tasks: readonly string[];
  /** When set, a run that did not complete may hold any of these keys (which differ with when it was stopped). */
  readonly partial?: readonly string[];
  /** The signal waits: commit key and signal name. */
  readonly waits?: readonly (readonly [string, string])[];
  readonly result?: (n: number, outputs: ReadonlyMap<string, Record<string, unknown>>) => number;
  /** The error code a run planned to fail fails with. */
  readonly error?: string;
  /**
   * Committed task keys whose execution consumed an output the run no longer keeps on purpose:
   * the first kept iteration of a loop was fed by the one before, which the loop dropped.
   */
  readonly prunedInputs?: readonly string[];
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const signalValue = (outputs: ReadonlyMap<string, Record<string, unknown>>, key: string) => Number(outputs.get(key)?.v);

const MAP_TASKS = range(6).map((i) => `each[${i}]/work`);
const RATED_TASKS = range(5).map((i) => `calls[${i}]/call`);
const LOOP_KEPT = [2, 3].flatMap((i) => [`poll#${i}/try`, `poll#${i}/gap`, `poll#${i}/decide`]);

/** What a run of `f-kid`, a child of `f-parent` number n, ends with. */
export const KID_SPEC: Spec = { keys: ["k1", "nap", "k2"], tasks: ["k1", "k2"], result: (n) => (n + 2) * 2 };

/** What a run a schedule started ends with. */
export const TICK_SPEC: Spec = { keys: ["a"], tasks: ["a"], result: (v) => v + 1 };

/** The compensations of `f-saga`, in the order they must commit: last committed step first. */
export const SAGA_ORDER = ["one", "two", "#failed", "two#compensate", "one#compensate"];

const SPECS: Record<Exclude<Kind, "race" | "migrate">, Spec> = {
  chain: { keys: ["a", "b", "c"], tasks: ["a", "b", "c"], result: (n) => (n + 1) * 2 + 3 },
  fork: {
    keys: ["a", "left/inc", "right/nap", "right/double", "join"],
    tasks: ["a", "left/inc", "right/double", "join"],
    result: (n) => n + 2 + (n + 1) * 2,
  },
  signals: {
    keys: ["a", "first", "b", "second", "c"],
    tasks: ["a", "b", "c"],
    waits: [
      ["first", "item"],
      ["second", "item"],
    ],
    result: (_, outputs) => signalValue(outputs, "second") + 1,
  },
  sleep: { keys: ["a", "nap", "b"], tasks: ["a", "b"], result: (n) => (n + 1) * 3 },
  slow: {
    keys: ["a", "x/s1", "x/s1b", "y/s2", "y/s2b", "join", "z"],
    tasks: ["a", "x/s1", "x/s1b", "y/s2", "y/s2b", "join", "z"],
    result: (n) => 3 * n + 11,
  },
  cancel: { keys: [], tasks: ["a", "c", "b"], partial: ["a", "c"], waits: [["never", "never"]] },
  doomed: { keys: [], tasks: ["a", "boom", "after"], partial: ["a"], error: "NON_RETRYABLE" },
  parkretry: { keys: ["a", "flaky"], tasks: ["a", "flaky"], result: (n) => (n + 1) * 5 },
  timeout: { keys: ["a", "maybe", "b"], tasks: ["a", "b"], waits: [["maybe", "ping"]], result: () => 99 },
  map: { keys: ["a", "each", ...MAP_TASKS, "sum"], tasks: ["a", ...MAP_TASKS, "sum"], result: (n) => 60 * n + 81 },
  computed: { keys: ["a", "wait", "b", "until", "c"], tasks: ["a", "b", "c"], result: (n) => 2 * n + 3 },
  loop: {
    keys: ["a", ...LOOP_KEPT, "b"],
    tasks: ["a", "poll#1/try", "poll#2/try", "poll#3/try", "b"],
    prunedInputs: ["poll#2/try"],
    result: (n) => n + 3002,
  },
  deadline: {
    keys: [],
    tasks: ["a", "how[stall]/stall", "b"],
    partial: ["a", "how"],
    waits: [["how[park]/never", "never"]],
    error: "RUN_TIMEOUT",
  },
  parent: { keys: ["a", "kid/kid", "side/r", "join"], tasks: ["a", "side/r", "join"], result: (n) => 3 * n + 10 },
  saga: { keys: SAGA_ORDER, tasks: ["one", "two", "three"], partial: SAGA_ORDER, error: "NON_RETRYABLE" },
  limited: { keys: ["first", "nap", "second"], tasks: ["first", "second"], result: (n) => (n + 1) * 2 },
  rated: { keys: ["calls", ...RATED_TASKS, "sum"], tasks: [...RATED_TASKS, "sum"], result: (n) => 5 * n + 10 },
  rewind: { keys: ["a", "hold", "b"], tasks: ["a", "hold", "b"], result: (n) => 2 * n + 5 },
  retried: { keys: ["a", "flaky", "b"], tasks: ["a", "flaky", "b"], result: (n) => (n + 1) * 4 + 1 },
  ephemeral: { keys: ["a", "nap", "b"], tasks: ["a", "b"], result: (n) => (n + 1) * 2 },
};

const MIGRATED: Spec = { keys: ["a", "nap", "b2"], tasks: ["a", "b", "b2"], result: (n) => (n + 1) * 7 };
const NOT_MIGRATED: Spec = { keys: ["a", "nap", "b"], tasks: ["a", "b", "b2"], result: (n) => (n + 1) * 3 };

/** A race's spec once its winner is known: the loser's signal was taken by the later wait. */
function raceSpec(winner: "a" | "b"): Spec {
  const loser = winner === "a" ? "b" : "a";
  return {
    keys: [`${winner}/got`, "pick", "loser", `loser[${loser}]/late`, "after"],
    tasks: ["after"],
    waits: [
      ["a/got", "a"],
      ["b/got", "b"],
      ["loser[a]/late", "a"],
      ["loser[b]/late", "b"],
    ],
    result: (_, outputs) => signalValue(outputs, `loser[${loser}]/late`) + 1,
  };
}

/** The spec of a run of `kind`, given its definition's hash and committed outputs. */
export function specOf(kind: Kind, hash: string, outputs: ReadonlyMap<string, Record<string, unknown>>): Spec {
  if (kind === "migrate") return hash === migratedV2.hash ? MIGRATED : NOT_MIGRATED;
  if (kind === "race") return raceSpec(outputs.get("pick")?.winner === "b" ? "b" : "a");
  return SPECS[kind];
}
