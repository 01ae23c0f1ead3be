/**
 * CPU time of the worker processes (`/proc/<pid>/stat`) and of the whole
 * machine (`/proc/stat`), on Linux, so the scale curve can say whether the
 * workers, Redis, or the machine (other work on it included) ran out of CPU.
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

/** CPU milliseconds the whole machine has spent busy (every core, every process: not idle, not waiting on I/O); null off Linux. */
export async function machineBusyMs(): Promise<number | null> {
  if (process.platform !== "linux") return null;
  try {
    const stat = await readFile("/proc/stat", "utf8");
    // cpu  user nice system idle iowait irq softirq steal ...
    const ticks = stat.split("\n")[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
    const idle = ticks[3]! + ticks[4]!;
    return (ticks.reduce((a, b) => a + b, 0) - idle) / TICKS_PER_MS;
  } catch {
    return null;
  }
}
