import { describeBadInputConformance, describeEngineConformance, memoryHarness } from "../src/testing/index.js";

describeEngineConformance("memory store", memoryHarness);
describeBadInputConformance("memory store", memoryHarness);
