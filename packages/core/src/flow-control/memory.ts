/**
 * Flow control in one process, over the memory store's clock: the same rules as the Lua
 * scripts of the Redis store (`admitSlot-3.lua`, `releaseSlot-3.lua`, `renewSlot-1.lua`). A grant
 * lives apart from the holders here (Lua marks its member instead): the count is the same.
 */
import type { Clock } from "../clock.js";
import { type Admission, type FlowControl, type SlotHold, type SlotRequest, type WakeOutcome, waiterScore, waiterTtlMs } from "./types.js";

interface LimitState {
  /** Concurrency: holder to lease expiry. Rate: holder to admission time. */
  readonly taken: Map<string, number>;
  /** Concurrency: the slots a release granted to waiting runs, by run id, to when the grant lapses. They count as taken. */
  readonly granted: Map<string, number>;
  readonly waiters: Map<string, { readonly score: number; expiresAt: number }>;
}

export class MemoryFlowControl implements FlowControl {
  private readonly limits = new Map<string, LimitState>();

  constructor(
    private readonly clock: Clock,
    /** Makes a run parked on a slot wait of `limit` due now (the store's part of a wake-up). */
    private readonly wakeRun: (id: string, limit: string) => WakeOutcome,
  ) {}

  async admit(request: SlotRequest): Promise<Admission> {
    const now = this.clock.now();
    const state = this.state(request, now);
    if (state.taken.has(request.holder)) {
      if (request.kind === "concurrency") state.taken.set(request.holder, now + request.leaseMs);
      return { admitted: true };
    }
    if (request.kind === "concurrency" && state.granted.delete(request.waiter)) {
      state.taken.set(request.holder, now + request.leaseMs);
      return { admitted: true };
    }
    const waiter = state.waiters.get(request.waiter);
    const score = waiter?.score ?? waiterScore(request.priority, now);
    const ahead = rank(state, request.waiter, score);
    if (ahead < request.max - slotsTaken(state)) {
      state.taken.set(request.holder, request.kind === "concurrency" ? now + request.leaseMs : now);
      state.waiters.delete(request.waiter);
      return { admitted: true };
    }
    const retryAt = nextLook(state, request, now, ahead);
    state.waiters.set(request.waiter, { score, expiresAt: now + waiterTtlMs(retryAt - now, request.leaseMs) });
    return { admitted: false, retryAt, now };
  }

  async renew(holds: readonly SlotHold[], leaseMs: number): Promise<boolean> {
    const now = this.clock.now();
    let all = true;
    for (const hold of holds) {
      const state = this.limits.get(hold.limit);
      const expiry = state?.taken.get(hold.holder);
      if (state && expiry !== undefined && expiry > now) state.taken.set(hold.holder, now + leaseMs);
      else all = false;
    }
    return all;
  }

  async release(hold: SlotHold, max: number, leaseMs: number): Promise<readonly string[]> {
    const state = this.limits.get(hold.limit);
    if (!state) return [];
    state.taken.delete(hold.holder);
    return this.grant(state, max, leaseMs);
  }

  async returnGrant(limit: string, run: string, max: number, leaseMs: number): Promise<readonly string[]> {
    const state = this.limits.get(limit);
    if (!state) return [];
    state.granted.delete(run);
    return this.grant(state, max, leaseMs);
  }

  async wake(id: string, limit: string): Promise<WakeOutcome> {
    return this.wakeRun(id, limit);
  }

  /** Grants the free slots to the first waiters, who leave the line; answers them (as `releaseSlot-3.lua`). */
  private grant(state: LimitState, max: number, leaseMs: number): string[] {
    const now = this.clock.now();
    prune(state, now, 0);
    const first = [...state.waiters]
      .sort(([a, x], [b, y]) => order(x.score, a, y.score, b))
      .slice(0, Math.max(0, max - slotsTaken(state)))
      .map(([id]) => id);
    for (const id of first) {
      state.waiters.delete(id);
      state.granted.set(id, now + leaseMs);
    }
    return first;
  }

  /** The limit's state with lapsed slots, waiters and window entries dropped. */
  private state(request: SlotRequest, now: number): LimitState {
    let state = this.limits.get(request.limit);
    if (!state) this.limits.set(request.limit, (state = { taken: new Map(), granted: new Map(), waiters: new Map() }));
    prune(state, now, request.kind === "rate" ? request.periodMs : 0);
    return state;
  }
}

/** Drops what lapsed: leases and grants (`periodMs` 0) that expired, or window entries older than `periodMs`, and waiters past their time. */
function prune(state: LimitState, now: number, periodMs: number): void {
  for (const [holder, at] of state.taken) if (periodMs > 0 ? at <= now - periodMs : at <= now) state.taken.delete(holder);
  for (const [id, until] of state.granted) if (until <= now) state.granted.delete(id);
  for (const [id, waiter] of state.waiters) if (waiter.expiresAt <= now) state.waiters.delete(id);
}

/** Slots held or granted. */
function slotsTaken(state: LimitState): number {
  return state.taken.size + state.granted.size;
}

/** How many waiters are ahead of `waiter` (score, then id: as a Redis sorted set orders them). */
function rank(state: LimitState, waiter: string, score: number): number {
  let ahead = 0;
  for (const [id, w] of state.waiters) if (id !== waiter && order(w.score, id, score, waiter) < 0) ahead++;
  return ahead;
}

function order(scoreA: number, a: string, scoreB: number, b: string): number {
  return scoreA !== scoreB ? scoreA - scoreB : a < b ? -1 : a > b ? 1 : 0;
}

/**
 * When a refused request may be admitted without a release: the first lease to lapse; for a rate
 * limit, when the window may have room for it, given the `ahead` waiters before it (see admitSlot-3.lua).
 */
function nextLook(state: LimitState, request: SlotRequest, now: number, ahead: number): number {
  const times = [...state.taken.values(), ...state.granted.values()].sort((a, b) => a - b);
  if (request.kind === "concurrency") return times.length === 0 ? now + request.leaseMs : times[0]!;
  // The window's `max` slots, each used again a period after it was: the entries in it, oldest
  // first, then the free ones, which the waiters ahead take now. Its turn comes with the slot the
  // waiters ahead leave to it: the (ahead - free)-th to come free, counting round the slots.
  const turn = ahead - Math.max(0, request.max - times.length);
  return (times[turn % request.max] ?? now) + (Math.floor(turn / request.max) + 1) * request.periodMs;
}
