import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { expect, it } from "vitest";

// Under a lockdown (here Node's own), built-ins cannot be changed: Parkway must not need to.
it("runs a durable workflow to its end with frozen intrinsics", { timeout: 30_000 }, async () => {
  const dist = fileURLToPath(new URL("../dist/index.js", import.meta.url));
  const script = `
    const { createMemoryEngine, flow } = await import(${JSON.stringify(dist)});
    const wf = flow("frozen").then("add", (x) => x + 1).then("double", (x) => x * 2).build();
    const problems = [];
    const note = (...args) => problems.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "));
    const logger = { debug() {}, info() {}, warn: note, error: note };
    const engine = createMemoryEngine({ workflows: [wf], logger });
    const run = await engine.start(wf, 1);
    const result = await run.result({ timeout: "10s" });
    await engine.close();
    process.stdout.write(JSON.stringify({ result, problems }));
  `;
  const args = ["--frozen-intrinsics", "--no-warnings", "--input-type=module", "-e", script];
  const { stdout } = await promisify(execFile)(process.execPath, args, { encoding: "utf8" });
  expect(JSON.parse(stdout)).toEqual({ result: 4, problems: [] });
});
