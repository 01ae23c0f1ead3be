/**
 * Flow control on Redis: each limit's state lives under a hash tag of its own,
 * `{<namespace>:L<hash of the limit key>}`, so limits spread over a Cluster's masters and one
 * limit is one slot. A run lives in its partition's slot: no script spans both, so admission is
 * one script on the limit's slot and the wake-up of a waiter one on the run's. Why that stays
 * exact across a crash between the two is in ARCHITECTURE.md, "Flow control".
 */
import type { Admission, FlowControl, SlotHold, SlotRequest, WakeOutcome } from "@parkway/core";
import type { RedisConnection } from "./connection.js";
import type { KeyLayout } from "./keys.js";
import { runScript, SCRIPTS } from "./scripts.js";

/** The keys of one limit's state. */
export interface LimitKeys {
  readonly taken: string;
  readonly waiters: string;
  readonly wexp: string;
}

/** The keys of limit `limit` of `namespace`: FNV-1a (32 bits) of the key picks its hash tag. */
export function limitKeys(namespace: string, limit: string): LimitKeys {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(limit, "utf8")) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  const prefix = `{${namespace}:L${hash.toString(16)}}:`;
  return { taken: `${prefix}taken:${limit}`, waiters: `${prefix}waiters:${limit}`, wexp: `${prefix}wexp:${limit}` };
}

export class RedisFlowControl implements FlowControl {
  constructor(
    private readonly redis: RedisConnection,
    private readonly namespace: string,
    private readonly layoutOf: (id: string) => KeyLayout,
  ) {}

  async admit(r: SlotRequest): Promise<Admission> {
    const k = limitKeys(this.namespace, r.limit);
    const args = [r.kind, r.max, r.holder, r.waiter, r.priority, r.periodMs, r.leaseMs];
    const reply = (await runScript(this.redis, SCRIPTS.admitSlot, [k.taken, k.waiters, k.wexp], args)) as unknown[];
    if (Number(reply[0]) === 1) return { admitted: true };
    return { admitted: false, retryAt: Number(reply[1]), now: Number(reply[2]) };
  }

  async renew(holds: readonly SlotHold[], leaseMs: number): Promise<boolean> {
    const renewed = await Promise.all(
      holds.map((hold) => runScript(this.redis, SCRIPTS.renewSlot, [limitKeys(this.namespace, hold.limit).taken], [hold.holder, leaseMs])),
    );
    return renewed.every((r) => Number(r) === 1);
  }

  release(hold: SlotHold, max: number, leaseMs: number): Promise<readonly string[]> {
    return this.giveBack(hold.limit, "holder", hold.holder, max, leaseMs);
  }

  returnGrant(limit: string, run: string, max: number, leaseMs: number): Promise<readonly string[]> {
    return this.giveBack(limit, "grant", run, max, leaseMs);
  }

  async wake(id: string, limit: string): Promise<WakeOutcome> {
    const k = this.layoutOf(id);
    const reply = (await runScript(this.redis, SCRIPTS.wakeSlotWaiter, [k.header(id), k.due], [k.prefix, id, limit])) as unknown[];
    const outcome = String(reply[1]);
    return outcome === "woke" ? { outcome, version: Number(reply[2]) } : { outcome: outcome === "running" ? "running" : "gone" };
  }

  private async giveBack(limit: string, what: "holder" | "grant", id: string, max: number, leaseMs: number): Promise<readonly string[]> {
    const k = limitKeys(this.namespace, limit);
    const reply = (await runScript(this.redis, SCRIPTS.releaseSlot, [k.taken, k.waiters, k.wexp], [what, id, max, leaseMs])) as unknown[];
    return reply.map((run) => String(run));
  }
}
