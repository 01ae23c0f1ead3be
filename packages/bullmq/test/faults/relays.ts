/**
 * Client processes that send signals for the driver (fixtures/signal-relay.mjs),
 * so the two signals of a race come from two processes at once, each under the
 * same faults as any client.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const RELAY = fileURLToPath(new URL("./fixtures/signal-relay.mjs", import.meta.url));

/** What a relay answered for one signal. */
export type RelayReply = { readonly ok: true } | { readonly code: string } | { readonly transient: string };

interface Relay {
  readonly child: ChildProcess;
  readonly pending: Map<number, (reply: RelayReply) => void>;
}

export class SignalRelays {
  private nextId = 0;

  private constructor(private readonly relays: readonly Relay[]) {}

  /** Starts `count` relay processes on `connection` (a Redis URL, or a Cluster's comma-separated nodes). */
  static async start(connection: string, namespace: string, partitions = 1, count = 2): Promise<SignalRelays> {
    const relays = await Promise.all(Array.from({ length: count }, () => startRelay(connection, namespace, partitions)));
    return new SignalRelays(relays);
  }

  get size(): number {
    return this.relays.length;
  }

  /** Has relay `via` make one try at `signal(run, name, payload, { deliveryId })`. */
  signal(via: number, run: string, name: string, payload: unknown, deliveryId: string): Promise<RelayReply> {
    const relay = this.relays[via % this.relays.length]!;
    const id = ++this.nextId;
    return new Promise((resolve) => {
      relay.pending.set(id, resolve);
      relay.child.stdin!.write(`${JSON.stringify({ id, run, name, payload, deliveryId })}\n`);
    });
  }

  /** Ends every relay (their connections close); one that does not exit within 5s is killed. */
  async close(): Promise<void> {
    await Promise.all(
      this.relays.map(async ({ child }) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.stdin!.end();
        const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(timer);
      }),
    );
  }

  /** Kills every relay at once, synchronously: for a test process exiting early. */
  killNow(): void {
    for (const { child } of this.relays) child.kill("SIGKILL");
  }
}

async function startRelay(connection: string, namespace: string, partitions: number): Promise<Relay> {
  const child = spawn(process.execPath, [RELAY, connection, namespace, String(partitions)], { stdio: ["pipe", "pipe", "inherit"] });
  const pending = new Map<number, (reply: RelayReply) => void>();
  const lines = createInterface({ input: child.stdout });
  await new Promise<void>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`signal relay exited with ${code} before it was ready`)));
    lines.on("line", (line) => {
      const reply = JSON.parse(line) as { id?: number; ready?: boolean } & RelayReply;
      if (reply.ready) return resolve();
      pending.get(reply.id!)?.(reply);
      pending.delete(reply.id!);
    });
  });
  // A relay that dies fails its pending signals as a client crash would: the driver tries again.
  child.once("exit", () => {
    for (const resolve of pending.values()) resolve({ transient: "relay process exited" });
    pending.clear();
  });
  return { child, pending };
}
