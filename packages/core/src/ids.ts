/**
 * The ids Parkway generates: a run's instance id when `start` is given none, a signal's delivery
 * id, a schedule tick's token.
 *
 * They are ULIDs (https://github.com/ulid/spec): 26 characters of Crockford base32, the first 10
 * the creation time in ms, the last 16 eighty random bits. A run's id is part of each of its Redis
 * keys and of each of its index entries, so ten characters fewer than a UUID's 36 keep each of those
 * in a smaller allocation: about 80 bytes less per parked run, 130 per completed one. And ids sort
 * by the millisecond they were made in, which reads well in logs and listings.
 *
 * Not monotonic within a millisecond: nothing relies on the order of ids, only on their uniqueness,
 * which the 80 random bits give however many processes make them.
 */
import { randomFillSync } from "node:crypto";

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** Random bytes, drawn from the system a pool at a time (as `randomUUID` does): one byte makes one character. */
const pool = new Uint8Array(16 * 256);
let used = pool.length;

/** A fresh ULID, e.g. `01JE4Z7Q8M3V5N9XKT2B6C0DFH`. */
export function newId(): string {
  let id = "";
  // 48 bits of time, 5 at a time from the most significant: 10 characters (the first holds 3 bits).
  for (let t = Date.now(), i = 0; i < 10; i++, t = Math.floor(t / 32)) id = CROCKFORD[t % 32]! + id;
  if (used + 16 > pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  // 256 is a multiple of 32, so the low five bits of a uniform byte are uniform.
  for (let i = 0; i < 16; i++) id += CROCKFORD[pool[used + i]! & 31]!;
  used += 16;
  return id;
}
