/**
 * Exit codes and messages for what a user gets wrong: bad arguments (2),
 * unknown runs and workflows (3), an unreachable Redis (1). Spawned
 * processes, a real Redis, no worker needed.
 */
import { afterAll, describe, expect, it } from "vitest";
import { cliSpace, FIXTURES } from "./helpers.js";

const space = cliSpace();
const parkway = space.run;

afterAll(() => space.cleanup());

describe.concurrent("parkway tells bad arguments (exit 2) apart, naming the argument", () => {
  it.each([
    [
      ["start", "fanout", "--input", "{oops", "--workflows", FIXTURES],
      "option '--input <json>' argument '{oops' is invalid. It is not valid JSON",
    ],
    [["start", "fanout", "--workflows", FIXTURES], "required option '--input <json>' not specified"],
    [["start", "fanout", "--input", "1"], "start needs --workflows <module>"],
    [["start", "fanout", "--input", "1", "--workflows", "./no-such-module.mjs"], '--workflows: cannot find module "./no-such-module.mjs"'],
    [["signal", "some-run", "go", "--payload", "nope"], "option '--payload <json>' argument 'nope' is invalid. It is not valid JSON"],
    [["result", "some-run", "--timeout", "soon"], "option '--timeout <duration>' argument 'soon' is invalid"],
    [["list", "--limit", "0"], "option '--limit <n>' argument '0' is invalid. It must be an integer from 1 to 10000."],
    [["list", "--status", "sleeping"], "option '--status <status>' argument 'sleeping' is invalid. Allowed choices are pending"],
    [["list", "--cursor", "garbage"], '--cursor: "garbage" is not a cursor printed by a previous list'],
    [["list", "--order", "random"], "option '--order <order>' argument 'random' is invalid. Allowed choices are newest, oldest."],
    [["list", "--since", "yesterday"], "option '--since <time>' argument 'yesterday' is invalid. It is not a time"],
    [["list", "--until", "2024-13-45"], "option '--until <time>' argument '2024-13-45' is invalid. It is not a time"],
    [["list", "--since", "2024-05-02", "--until", "2024-05-01"], "list: createdAfter (1714608000000) is later than createdBefore"],
    [["list", "--finished-after", "yesterday"], "option '--finished-after <time>' argument 'yesterday' is invalid. It is not a time"],
    [["list", "--finished-before", "2024-13-45"], "option '--finished-before <time>' argument '2024-13-45' is invalid. It is not a time"],
    [
      ["list", "--finished-after", "2024-05-02", "--finished-before", "2024-05-01"],
      "list: finishedAfter (1714608000000) is later than finishedBefore",
    ],
    [["signal", "some-run", "go"], "signal needs --payload <json>"],
    [["status"], "missing required argument 'id'"],
    [["stats", "x"], "unknown command 'stats'"],
    [["worker"], "worker needs --workflows <module>"],
    [["worker", "--workflows", FIXTURES, "--concurrency", "zero"], '--concurrency must be an integer between 1 and 10000, got "zero"'],
    [["--partitions", "0", "list"], "option '--partitions <n>' argument '0' is invalid. It must be an integer from 1 to 128."],
    [["--partitions", "129", "list"], "option '--partitions <n>' argument '129' is invalid. It must be an integer from 1 to 128."],
    [["--redis", "redis://127.0.0.1:1,http://x:1", "list"], '"http://x:1" in the list of Redis Cluster nodes is not a Redis URL'],
  ])("parkway %j", async (args, message) => {
    const ran = await parkway(...args);
    expect(ran.stderr).toContain(message);
    expect(ran.code).toBe(2);
  });

  it("--json reports a failed command as one JSON document with its code", async () => {
    const ran = await parkway("--json", "status", "no-such-run");
    expect(ran.code).toBe(3);
    expect(JSON.parse(ran.stdout)).toEqual({ error: { code: "UNKNOWN_INSTANCE", exitCode: 3, message: 'no run with id "no-such-run"' } });
  });
});

describe.concurrent("parkway tells not found (exit 3) apart", () => {
  it.each([
    [["status", "no-such-run"]],
    [["signal", "no-such-run", "go", "--payload", "null"]],
    [["signal", "no-such-run", "go", "--no-payload"]],
    [["result", "no-such-run"]],
    [["cancel", "no-such-run"]],
    [["pause", "no-such-run"]],
    [["resume", "no-such-run"]],
  ])("parkway %j", async (args) => {
    const ran = await parkway(...args);
    expect(ran.stderr).toContain('no run with id "no-such-run"');
    expect(ran.code).toBe(3);
  });

  it("an unknown workflow name", async () => {
    const ran = await parkway("start", "shipping", "--input", "1", "--workflows", FIXTURES);
    expect(ran.stderr).toContain('no workflow named "shipping"');
    expect(ran.code).toBe(3);
  });
});

describe("parkway's other answers", () => {
  it("--help lists the commands and the exit codes", async () => {
    const ran = await parkway("--help");
    expect(ran.code).toBe(0);
    const commands = [
      "start",
      "signal",
      "status",
      "result",
      "list",
      "cancel",
      "pause",
      "resume",
      "retry",
      "rewind",
      "migrate",
      "delete",
      "purge",
      "worker",
    ];
    for (const command of commands) {
      expect(ran.stdout).toMatch(new RegExp(`^  ${command} `, "m"));
    }
    expect(ran.stdout).toContain("3  not found");
    expect(ran.stdout).toContain("4  the run failed or was cancelled");
    expect(ran.stdout).toContain("7  the run never waits for that signal");
    expect(ran.stdout).toContain("9  the run cannot take this repair");
  });

  it("an unreachable Redis Cluster fails at once with exit 1, naming its nodes", async () => {
    const started = Date.now();
    const ran = await parkway("--redis", "redis://127.0.0.1:1,redis://127.0.0.1:2", "status", "x");
    expect(ran.code).toBe(1);
    expect(ran.stderr).toContain("cannot reach the Redis Cluster at redis://127.0.0.1:1,redis://127.0.0.1:2");
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it("a partition count other than the namespace's is refused, naming both", async () => {
    expect((await parkway("list")).code).toBe(0); // fixes the namespace at 1 partition
    const ran = await parkway("--partitions", "3", "list");
    expect(ran.stderr).toMatch(/has 1 partition .*partitions: 3/);
    expect(ran.code).toBe(2);
  });

  it("an unreachable Redis fails at once with exit 1", async () => {
    const started = Date.now();
    const ran = await parkway("--redis", "redis://127.0.0.1:1", "status", "x");
    expect(ran.code).toBe(1);
    expect(ran.stderr).toContain("cannot reach Redis at redis://127.0.0.1:1");
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});
