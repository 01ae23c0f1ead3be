/**
 * The runs one worker (or embedded engine) is advancing right now, so that
 * events from outside a run reach its running code: a cancel asked from any
 * process aborts the run's tasks in flight, and a shutdown stops every run at
 * its next step boundary, aborting what is still running after a grace period.
 */
import type { Clock } from "../clock.js";
import type { Store } from "../store/types.js";

/** What the registry asks of a run being advanced. */
export interface HeldRun {
  /** A cancel was (or may have been) asked of the run: confirm it with the store, and if so abort the tasks in flight. */
  cancelAsked(): void;
  /** Shutdown began: start no new step or attempt, and release the run at the next boundary. */
  release(): void;
  /** The grace period passed: abort the tasks in flight; the run is released, nothing of them is committed. */
  abortForShutdown(): void;
}

export class RunsInFlight {
  private readonly held = new Map<string, Set<HeldRun>>();
  private count = 0;
  private idle: (() => void) | null = null;
  private draining = false;

  constructor(
    private readonly clock: Clock,
    /** How long steps in flight may go on once shutdown begins before they are aborted. */
    readonly shutdownGraceMs: number,
  ) {}

  /** How many runs are held right now. */
  get size(): number {
    return this.count;
  }

  /** True once {@link drain} began: no run is taken any more. */
  get closing(): boolean {
    return this.draining;
  }

  /**
   * Listens for cancels asked of any run in the store; resolves once listening. Returns the
   * unsubscribe. When the store may have missed some (its subscription dropped), every run
   * held here asks the store at once, so a cancel asked meanwhile is not left to the next lease
   * renewal (a third of a lease away).
   */
  listen(store: Store): Promise<() => Promise<void>> {
    return store.onCancel(
      (id) => this.cancel(id),
      () => this.askAll(),
    );
  }

  /** Every run held here confirms with the store whether a cancel was asked of it. */
  askAll(): void {
    for (const runs of this.held.values()) for (const run of runs) run.cancelAsked();
  }

  /** Registers a run being advanced; the returned function unregisters it. */
  hold(id: string, run: HeldRun): () => void {
    let runs = this.held.get(id);
    if (!runs) this.held.set(id, (runs = new Set()));
    runs.add(run);
    this.count++;
    if (this.draining) run.release();
    return () => {
      runs.delete(run);
      if (runs.size === 0 && this.held.get(id) === runs) this.held.delete(id);
      if (--this.count === 0) this.idle?.();
    };
  }

  /** A cancel was asked of run `id`: tell whoever holds it here. */
  cancel(id: string): void {
    for (const run of this.held.get(id) ?? []) run.cancelAsked();
  }

  /**
   * Stops taking runs and releases every run held at its next step boundary;
   * after the grace period, aborts the tasks still running (an aborted attempt
   * is not waited for, even when it ignores its signal). Resolves once every
   * run was let go.
   */
  async drain(): Promise<void> {
    this.draining = true;
    for (const runs of this.held.values()) for (const run of runs) run.release();
    if (this.count === 0) return;
    const allReleased = new Promise<void>((resolve) => (this.idle = resolve));
    const cancelTimer = this.clock.setTimer(this.shutdownGraceMs, () => {
      for (const runs of this.held.values()) for (const run of runs) run.abortForShutdown();
    });
    try {
      await allReleased;
    } finally {
      cancelTimer();
    }
  }
}
