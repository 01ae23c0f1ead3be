/**
 * The progress line on stderr: which scenario on which engine, and how far it
 * got. On a terminal it redraws one line; elsewhere (CI logs) it prints a
 * line per scenario so the log stays short.
 */

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/** Where a running suite reports how far it got. */
export class Progress {
  private done = 0;
  private label = "";
  private frame = 0;
  private lastDraw = 0;
  private readonly startedAt = Date.now();
  private readonly tty: boolean;

  constructor(
    private readonly total: number,
    private readonly out: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = out.isTTY === true;
  }

  /** A new task starts: `scenario · engine`. */
  begin(label: string): void {
    this.label = label;
    if (this.tty) this.draw("", true);
    else this.out.write(`[${this.done + 1}/${this.total}] ${label}\n`);
  }

  /** How far the current task got, e.g. "620/1000 runs done". */
  update(detail: string): void {
    if (this.tty) this.draw(detail, false);
  }

  /** The current task ended. */
  end(): void {
    this.done++;
    if (this.tty) this.draw("", true);
  }

  /** A line that stays (a warning, a failed scenario), printed above the progress line. */
  note(line: string): void {
    if (this.tty) this.out.write("\r\x1b[K");
    this.out.write(`${line}\n`);
    if (this.tty) this.draw("", true);
  }

  /** Clears the progress line for good. */
  finish(): void {
    if (this.tty) this.out.write("\r\x1b[K");
    const seconds = ((Date.now() - this.startedAt) / 1000).toFixed(0);
    this.out.write(`bench: ${this.done}/${this.total} tasks in ${seconds}s\n`);
  }

  private draw(detail: string, force: boolean): void {
    const t = Date.now();
    if (!force && t - this.lastDraw < 80) return;
    this.lastDraw = t;
    this.frame = (this.frame + 1) % FRAMES.length;
    const elapsed = `${((t - this.startedAt) / 1000).toFixed(0)}s`;
    const line = `${FRAMES[this.frame]} [${this.done + 1}/${this.total}] ${elapsed} ${this.label}${detail ? ` · ${detail}` : ""}`;
    const width = this.out.columns > 10 ? this.out.columns - 1 : 120;
    this.out.write(`\r\x1b[K${line.slice(0, width)}`);
  }
}
