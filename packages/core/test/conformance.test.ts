import { describeEngineConformance, memoryHarness } from "../src/testing/index.js";

describeEngineConformance("memory store", memoryHarness);
