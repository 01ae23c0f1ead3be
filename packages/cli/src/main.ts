#!/usr/bin/env node
/**
 * The `parkway` executable. Every command but `worker` exits as soon as it
 * has answered: connections are closed first, and output is flushed before
 * the exit so nothing written to a pipe is lost.
 */
import { runCli } from "./program.js";

// A reader that goes away (`parkway list | head`) is not an error of ours: stop quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(0);
    throw error;
  });
}

const outcome = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
if (outcome !== "running") {
  // A workflows module may hold handles of its own (a database pool, a timer): exit anyway, once flushed.
  await Promise.all([flush(process.stdout), flush(process.stderr)]);
  process.exit(outcome);
}

function flush(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => stream.write("", () => resolve()));
}
