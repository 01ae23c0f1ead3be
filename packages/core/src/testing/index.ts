/** Test helpers of @parkway/core: the behaviour and bad-input suites every store runs, and the memory harness. */
export { describeEngineConformance } from "./conformance.js";
export { describeBadInputConformance } from "./bad-input.js";
export { memoryHarness, type EngineHarness, type EngineUnderTest } from "./harness.js";
export { nodeKindPairs } from "./node-kinds.js";
