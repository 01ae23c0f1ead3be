/** The flags of `redis-cost` and `redis-instructions`: each bad one is refused, naming it. */
import { expect, it } from "vitest";
import { readCostFlags } from "../src/cost-flags.js";

it("reads the flags, with each tool's defaults", () => {
  expect(readCostFlags([], { runs: 500, rounds: 3 })).toEqual({ runs: 500, rounds: 3, server: "redis-server", json: false });
  expect(readCostFlags(["--runs", "20", "--redis-server", "/opt/redis", "--json"], { runs: 200 })).toEqual({
    runs: 20,
    rounds: 1,
    server: "/opt/redis",
    json: true,
  });
});

it("refuses a bad or unknown flag, naming it", () => {
  expect(() => readCostFlags(["--runs", "0"], { runs: 1 })).toThrow("--runs takes an integer from 1 to 1,000,000");
  expect(() => readCostFlags(["--runs", "1.5"], { runs: 1 })).toThrow("--runs takes an integer");
  expect(() => readCostFlags(["--rounds", "101"], { runs: 1, rounds: 3 })).toThrow("--rounds takes an integer from 1 to 100");
  expect(() => readCostFlags(["--redis-server"], { runs: 1 })).toThrow("--redis-server takes a path");
  // A tool without rounds does not take the flag.
  expect(() => readCostFlags(["--rounds", "2"], { runs: 1 })).toThrow(
    "unknown flag --rounds (flags: --runs N, --redis-server PATH, --json)",
  );
  expect(() => readCostFlags(["--fast"], { runs: 1, rounds: 3 })).toThrow(
    "unknown flag --fast (flags: --runs N, --rounds N, --redis-server PATH, --json)",
  );
});
