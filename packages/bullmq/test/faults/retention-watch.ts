/**
 * Watches runs while the load goes, every half second: a run that is live
 * (pending, running, parked, paused) must have its header and its input, and
 * nothing of it may be on its way out (a TTL). Each look at one run is one
 * MULTI, so it sees the run at one moment: a run that finishes in between is
 * seen finished. It is how the suite sees that retention, deletes and purges
 * running under load never touch a live run, before the run could vanish.
 */
import type { RedisStore } from "@parkway/redis";

const LIVE = ["pending", "running", "parked", "paused"];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class RetentionWatch {
  readonly violations: string[] = [];
  readonly counts = { liveRunsSeen: 0, finishedRunsSeenExpiring: 0 };
  private stopping = false;
  private done: Promise<void> | null = null;
  private readonly flagged = new Set<string>();

  constructor(
    private readonly store: RedisStore,
    private readonly ids: readonly string[],
  ) {}

  start(): void {
    this.done = this.loop();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.done;
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      // A look that fails (Redis restarting, the connection killed) is skipped: the next one looks again.
      await Promise.all(this.ids.map((id) => this.look(id).catch(() => undefined)));
      await sleep(500);
    }
  }

  private async look(id: string): Promise<void> {
    const k = this.store.layoutOf(id);
    const replies = await this.store.redis
      .multi()
      .hget(k.header(id), "status")
      .pttl(k.header(id))
      .pttl(k.outputs(id))
      .hexists(k.outputs(id), "#input")
      .exec();
    if (!replies || replies.some(([error]) => error)) return;
    const [status, headerTtl, outputsTtl, hasInput] = replies.map(([, value]) => value) as [string | null, number, number, number];
    if (status === null) return;
    if (!LIVE.includes(status)) {
      if (headerTtl >= 0) this.counts.finishedRunsSeenExpiring++;
      return;
    }
    this.counts.liveRunsSeen++;
    const wrong = [
      headerTtl !== -1 && `its header has a TTL of ${headerTtl}ms`,
      hasInput === 0 && "its input is gone",
      outputsTtl >= 0 && `its outputs and input have a TTL of ${outputsTtl}ms`,
    ].filter(Boolean);
    if (wrong.length > 0 && !this.flagged.has(id)) {
      this.flagged.add(id);
      this.violations.push(`${id}: ${status}, yet ${wrong.join(", ")}`);
    }
  }
}
