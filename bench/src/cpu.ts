/**
 * CPU time of the worker processes, read from `/proc/<pid>/stat` (Linux), so
 * the scale curve can say whether the workers or Redis ran out of CPU.
 */
import { readFile } from "node:fs/promises";

/** Linux reports CPU time in clock ticks of USER_HZ, which is 100 on every architecture Node runs on. */
const TICKS_PER_MS = 100 / 1000;

/** CPU milliseconds (user + system, every thread) `pids` have used so far; null off Linux or once one has exited. */
export async function cpuMsOf(pids: readonly number[]): Promise<number | null> {
  if (process.platform !== "linux" || pids.length === 0) return null;
  try {
    const ticks = await Promise.all(
      pids.map(async (pid) => {
        const stat = await readFile(`/proc/${pid}/stat`, "utf8");
        // Fields after the command name (which may hold spaces), from field 3 (state): utime is 14, stime 15.
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        return Number(fields[11]) + Number(fields[12]);
      }),
    );
    return ticks.reduce((a, b) => a + b, 0) / TICKS_PER_MS;
  } catch {
    return null;
  }
}
