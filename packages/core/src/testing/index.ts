/** Test helpers of @parkway/core: the behaviour suite every store runs, and its memory harness. */
export { describeEngineConformance } from "./conformance.js";
export { memoryHarness, type EngineHarness, type EngineUnderTest } from "./harness.js";
export { nodeKindPairs } from "./node-kinds.js";
