/**
 * How `status()` and `history()` show what the store keeps: waits as a user reads them, each
 * step's timing from its attempt records, the signals buffered for the run, and the history's
 * events in time order.
 */
import { decode } from "../codec/codec.js";
import { CodecError, type SerializedError } from "../errors.js";
import { parseSlotWaitKey } from "../flow-control/types.js";
import { childStepOf, INTERNAL_SIGNAL_PREFIX } from "../semantics/children.js";
import type { AttemptRecord, RunEvent } from "../store/history.js";
import type { SignalBuffer, Wait } from "../store/types.js";

/**
 * When a step ran and how its attempts ended, from its attempt records (store times, ms since the
 * epoch). A step committed after retries keeps the error that made it retry in `lastError`.
 */
export interface StepTiming {
  /** When its first recorded attempt started, or when it first waited (a delay, a signal, a child); null when not recorded. */
  readonly startedAt: number | null;
  /** When its last attempt ended (committed, or failed); null while it runs or waits. */
  readonly finishedAt: number | null;
  /** `finishedAt - startedAt` when both are known, else null: backoffs and waits between attempts included. */
  readonly durationMs: number | null;
  /** The error of its latest failed attempt, or null when none failed. */
  readonly lastError: SerializedError | null;
  /** Its last attempts (at most `ATTEMPTS_KEPT`), oldest first. */
  readonly attemptLog: readonly AttemptRecord[];
}

/** The timing of a step with no attempt record (committed by a run stored before they were kept). */
export const NO_TIMING: StepTiming = { startedAt: null, finishedAt: null, durationMs: null, lastError: null, attemptLog: [] };

/** Only the timing fields of `t` (a `StepView` carries them among others). */
export function timingOf(t: StepTiming): StepTiming {
  return { startedAt: t.startedAt, finishedAt: t.finishedAt, durationMs: t.durationMs, lastError: t.lastError, attemptLog: t.attemptLog };
}

/** A step's timing from its attempt records (oldest first). */
export function stepTiming(records: readonly AttemptRecord[]): StepTiming {
  if (records.length === 0) return NO_TIMING;
  const startedAt = records[0]!.startedAt;
  const finishedAt = records[records.length - 1]!.finishedAt;
  return {
    startedAt,
    finishedAt,
    durationMs: startedAt === null || finishedAt === null ? null : finishedAt - startedAt,
    lastError: records.findLast((r) => r.error !== null)?.error ?? null,
    attemptLog: records,
  };
}

/**
 * The waits as `status()` shows them: a child step's wait names the child run it waits for (its
 * internal signal and re-check timer are how it waits, not what), and a slot wait names its step
 * (or `#run`) and the limit it waits for.
 */
export function viewWaits(waits: readonly Wait[], children: Readonly<Record<string, string>> | undefined): Wait[] {
  return waits.flatMap((wait): Wait[] => {
    if (wait.kind === "timer" && wait.reason === "child") return [];
    if (wait.kind !== "signal") return [viewWait(wait)];
    const step = childStepOf(wait.signal);
    const child = step === null ? undefined : children?.[step];
    return [child === undefined ? wait : { ...wait, child }];
  });
}

/** A wait as `status()` shows it: a slot wait names its step (or `#run`) and the limit it waits for. */
function viewWait(wait: Wait): Wait {
  if (wait.kind !== "timer" || wait.reason !== "slot") return wait;
  const slot = parseSlotWaitKey(wait.key);
  return slot ? { ...wait, key: slot.step ?? "#run", slot: slot.limit } : wait;
}

/**
 * The history as `history()` shows it: in time order (a failed attempt is recorded by the run's
 * next write but dated when it failed; events of one time keep the order they were recorded in),
 * with `parked` waits shown as `status()` shows waits (a child step's wait names its signal
 * `#child:<step key>`, not the child's id: `status().children` has it).
 */
export function viewHistory(events: readonly RunEvent[]): RunEvent[] {
  return events
    .map((event) => (event.type === "parked" ? { ...event, waits: viewWaits(event.waits, undefined) } : event))
    .sort((a, b) => a.at - b.at);
}

/** Most buffered signals `status()` shows one by one; `total` and `byName` count them all. */
export const BUFFERED_SIGNALS_SHOWN = 20;

/** Largest encoded payload of a buffered signal that `status()` decodes; a larger one shows its size only. */
export const SIGNAL_PREVIEW_BYTES = 4096;

/** A signal sent to a run and not taken by a step yet, as `status()` shows it. */
export interface BufferedSignalView {
  readonly name: string;
  /**
   * When it was sent (store time), read from the run's history: null when the history no longer
   * holds its `signal.received` event (it keeps the run's last `HISTORY_LIMIT` events).
   */
  readonly sentAt: number | null;
  /** The size of its encoded payload, in bytes. */
  readonly bytes: number;
  /** Its payload, decoded; absent when larger than {@link SIGNAL_PREVIEW_BYTES} or when it does not decode. */
  readonly payload?: unknown;
}

/** The signals buffered for a run and not taken yet: user signals only (a child's finish notice is Parkway's own). */
export interface BufferedSignalsView {
  /** The oldest {@link BUFFERED_SIGNALS_SHOWN}, oldest first (those whose sending the history no longer dates come first). */
  readonly signals: readonly BufferedSignalView[];
  /** How many are buffered, in all. */
  readonly total: number;
  /** How many are buffered under each name. */
  readonly byName: Readonly<Record<string, number>>;
}

/** A run with no signal buffered. */
export const NO_BUFFERED_SIGNALS: BufferedSignalsView = { signals: [], total: 0, byName: {} };

/**
 * The buffered signals as `status()` shows them, from the store's buffers and the run's history (as
 * the store recorded it). Each name's buffer is the tail of what was sent under it (a step takes the
 * oldest; a finishing run drops them all), so its `count` signals are the name's last `count`
 * `signal.received` events: sending or taking a signal writes nothing for this view.
 */
export function viewBufferedSignals(id: string, buffers: readonly SignalBuffer[], history: readonly RunEvent[]): BufferedSignalsView {
  const byName: Record<string, number> = {};
  const signals: BufferedSignalView[] = [];
  for (const buffer of buffers) {
    if (buffer.name.startsWith(INTERNAL_SIGNAL_PREFIX) || buffer.count === 0) continue;
    byName[buffer.name] = buffer.count;
    const sent = history.flatMap((e) => (e.type === "signal.received" && e.signal === buffer.name ? [e.at] : []));
    buffer.oldest.forEach((signal, i) => {
      const payload = signal.payload === null ? undefined : preview(signal.payload, `payload of signal "${buffer.name}" of run "${id}"`);
      signals.push({
        name: buffer.name,
        sentAt: sent[sent.length - buffer.count + i] ?? null,
        bytes: signal.bytes,
        ...(payload === undefined ? {} : { payload: payload.value }),
      });
    });
  }
  // Stable: signals of one name keep their order, and so do those the history no longer dates.
  signals.sort((a, b) => (a.sentAt ?? -Infinity) - (b.sentAt ?? -Infinity) || 0);
  const total = Object.values(byName).reduce((sum, n) => sum + n, 0);
  return { signals: signals.slice(0, BUFFERED_SIGNALS_SHOWN), total, byName };
}

/** The decoded payload, or undefined when its bytes do not decode: a preview must not make `status()` fail. */
function preview(bytes: Uint8Array, what: string): { readonly value: unknown } | undefined {
  try {
    return { value: decode(bytes, what) };
  } catch (error) {
    if (error instanceof CodecError) return undefined;
    throw error;
  }
}
