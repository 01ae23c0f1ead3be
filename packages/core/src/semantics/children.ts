/**
 * Child runs (`.child(id, workflow)`): how a parent and its child find and tell each other.
 *
 * The protocol, written once for every store:
 * - The parent's step `key` first records the child's id on the parent (`children[key]`), then
 *   starts the child linked to it (`parent` on the child, from its creation) unless it exists:
 *   start-if-absent, so a resumed parent never starts a second one. Recorded before it exists, a
 *   child is never out of its parent's cancel's reach, whichever worker dies where.
 * - The parent waits on the internal signal `#child:<key>`. Whoever sees the child end sends it the
 *   child's {@link ChildOutcome} with delivery id `#child:<child id>`, so it is buffered once however
 *   many senders there are: the worker that finishes the child, a client that cancels a parked
 *   child at once, or the parent itself when it finds the child finished.
 * - The finish and its notice are two writes (on two partitions, perhaps): a process that dies
 *   between them loses the notice. So the parent also parks on a timer (reason `child`) and, when
 *   it fires, looks at the child and sends itself the notice when the child has ended.
 * - The parent's step takes the notice as its committed output (the outcome, not the child's bare
 *   output), so a resumed parent passes on the same output or fails with the same error.
 * - Cancelling the parent cancels its children (those linked to it), wherever the cancel lands:
 *   the client that cancels a run not running, the worker that stops a running one at a step
 *   boundary, or the worker that acquires a run whose worker died with a cancel asked. Cancelling
 *   a child fails the parent's step with `ChildRunFailedError`.
 * - A parent that ends otherwise cancels its children still live as well (a child in a branch
 *   that was running when another branch failed the run, or in a race's losing branch): no child
 *   runs on behalf of a run that ended. Like the cancel's, this is done by the worker that ended
 *   the run, after its last write; a worker that dies in between leaves those children running.
 *
 * Internal signal names and delivery ids start with `#`, which `signal()` refuses from users.
 */
import { decode, encode } from "../codec/codec.js";
import { CancelledError, ChildRunFailedError, deserializeError, isParkwayError, serializeError, type SerializedError } from "../errors.js";
import { RunFinishedError, UnknownInstanceError } from "../errors.js";
import { idempotencyKey } from "../executors/context.js";
import type { ControlResult, RunHeader, RunLink, Store } from "../store/types.js";
import { FINISHED_STATUSES } from "../store/types.js";

/** The first character of every internal signal name: never one a user may send or wait for. */
export const INTERNAL_SIGNAL_PREFIX = "#";

/** The internal signal a parent's child step `key` waits on. */
export function childSignal(key: string): string {
  return `#child:${key}`;
}

/** The commit key of the child step an internal signal belongs to, or null for any other name. */
export function childStepOf(signal: string): string | null {
  return signal.startsWith("#child:") ? signal.slice("#child:".length) : null;
}

/** The delivery id of a child's finish notice: one per child, so it is buffered once. */
export function childDeliveryId(childId: string): string {
  return `#child:${childId}`;
}

/**
 * The default instance id of the child started by step `key` of run `parentId`: `<parent id>/<key>`,
 * escaped as `ctx.idempotencyKey` is (`%` and `/` in the parent id as `%25` and `%2F`), so two
 * parents never share a child id.
 */
export function defaultChildId(parentId: string, key: string): string {
  return idempotencyKey(parentId, key);
}

/** How a child run ended, as its parent's step commits it. */
export type ChildOutcome =
  | { readonly child: string; readonly status: "completed"; readonly output: unknown }
  | { readonly child: string; readonly status: "failed" | "cancelled"; readonly error: SerializedError };

/** What a parent's step passes on for an outcome: the child's output. @throws ChildRunFailedError for a child that did not complete */
export function childOutput(
  outcome: ChildOutcome,
  context: { readonly instanceId: string; readonly workflow: string; readonly step: string },
): unknown {
  if (outcome.status === "completed") return outcome.output;
  const cause = deserializeError(outcome.error);
  throw new ChildRunFailedError(
    `child run "${outcome.child}" of step "${context.step}" ${outcome.status === "cancelled" ? "was cancelled" : "failed"}: ${cause.message}`,
    { ...context, child: outcome.child, childStatus: outcome.status },
    { cause },
  );
}

/** The outcome of child run `childId` when it has ended, encoded as its parent commits it; null while it is live or gone. */
export async function readChildOutcome(store: Store, childId: string): Promise<Uint8Array | null> {
  const run = await store.get(childId, { outputs: false });
  if (!run || !FINISHED_STATUSES.includes(run.header.status)) return null;
  const { status } = run.header;
  const outcome: ChildOutcome =
    status === "completed"
      ? { child: childId, status, output: decode(run.result!, `output of run "${childId}"`, { instanceId: childId }) }
      : {
          child: childId,
          status: status as "failed" | "cancelled",
          error: run.header.error ?? serializeError(new CancelledError(`run "${childId}" was ${status}`, { instanceId: childId, status })),
        };
  // The child's output already fit the payload limit; its notice carries it with a few bytes more.
  return encode(outcome, { what: `outcome of child run "${childId}"`, context: { instanceId: childId } });
}

/**
 * Tells the parent that child `childId` ended (its outcome read from the store), and wakes the
 * parent when it was waiting. A parent that ended or is gone needs no notice.
 */
export async function notifyParent(
  store: Store,
  parent: RunLink,
  childId: string,
  wake: (id: string, version: number) => void,
): Promise<void> {
  const outcome = await readChildOutcome(store, childId);
  if (outcome === null) return;
  try {
    const sent = await store.signal(parent.id, childSignal(parent.key), outcome, childDeliveryId(childId));
    if (sent.delivered === "woke") wake(parent.id, sent.version);
  } catch (e) {
    if (!isParkwayError(e, RunFinishedError.code) && !isParkwayError(e, UnknownInstanceError.code)) throw e;
  }
}

/**
 * Cancels run `id` and, when that took effect at once, what hangs on it: its children are
 * cancelled (and theirs), and its parent hears that it ended. A running run is cancelled at its
 * next step boundary by the worker holding it, or when that worker died by the next to acquire
 * the run, which do the same (see {@link afterEnded}).
 * @throws RunFinishedError, UnknownInstanceError
 */
export async function cancelRun(store: Store, id: string, wake: (id: string, version: number) => void): Promise<ControlResult> {
  // The links are on the header. Read after the cancel, as the run may have started a child
  // since the caller asked (it was queued, or being acquired); and before it, in case a short
  // retention takes the cancelled run at once.
  const before = await store.get(id, { outputs: false });
  const result = await store.cancel(id);
  if (!result.immediate) return result;
  const links = (await store.get(id, { outputs: false })) ?? before;
  if (links) await afterEnded(store, links.header, wake);
  return result;
}

/**
 * Run `header` ended: its children still live are cancelled, and its parent is told. A run leaves
 * no child running on its behalf, however it ended: cancelled, failed while a child of another
 * branch ran, or completed past a race whose losing branch had started one. `settled(key)` says
 * the run holds the outcome of child step `key` (that child ended): it is not read again. A
 * recorded child is cancelled only when it is linked to this run: one not started yet (its
 * worker died first) never will be, and a run of someone else's that has the child's id is left alone.
 */
export async function afterEnded(
  store: Store,
  header: Pick<RunHeader, "id" | "parent" | "children">,
  wake: (id: string, version: number) => void,
  settled: (key: string) => boolean = () => false,
): Promise<void> {
  for (const [key, childId] of Object.entries(header.children ?? {})) {
    if (settled(key)) continue;
    const child = await store.get(childId, { outputs: false });
    if (child?.header.parent?.id !== header.id || child.header.parent.key !== key) continue;
    if (FINISHED_STATUSES.includes(child.header.status)) continue;
    try {
      await cancelRun(store, childId, wake);
    } catch (e) {
      // A child that ended meanwhile, or was never stored, needs nothing more.
      if (!isParkwayError(e, RunFinishedError.code) && !isParkwayError(e, UnknownInstanceError.code)) throw e;
    }
  }
  if (header.parent) await notifyParent(store, header.parent, header.id, wake);
}
