/**
 * Turns script replies into the store's types. Header fields are checked as
 * they are read: a field that does not parse raises `CodecError` naming the
 * run, rather than handing a worker a header it would misread. Payload bytes
 * are passed through untouched; decoding them is the engine's concern.
 */
import {
  CodecError,
  RUN_EVENT_TYPES,
  type AttemptRecord,
  type RunEvent,
  type RunHeader,
  type RunLink,
  type RunStatus,
  type SerializedError,
  type StoredRun,
  type TimerReason,
  type Wait,
} from "@parkway/core";

const STATUSES: readonly RunStatus[] = ["pending", "running", "parked", "paused", "completed", "failed", "cancelled"];

/** A reply that must be an array (a script's reply, or a nested one). */
export function asArray(reply: unknown): unknown[] {
  if (!Array.isArray(reply)) throw new Error(`unexpected reply from Redis: ${String(reply)}`);
  return reply as unknown[];
}

/** A bulk string reply as text. */
export function text(reply: unknown): string {
  if (Buffer.isBuffer(reply)) return reply.toString("utf8");
  if (typeof reply === "string") return reply;
  if (typeof reply === "number") return String(reply);
  throw new Error(`unexpected reply from Redis: ${String(reply)}`);
}

/** A bulk string reply as bytes of their own (a copy: a plain Uint8Array, not a Buffer sharing a pool). */
export function bytes(reply: unknown): Uint8Array {
  if (Buffer.isBuffer(reply)) return new Uint8Array(reply);
  throw new Error(`unexpected reply from Redis: ${String(reply)}`);
}

/** A nullable bulk string reply as bytes, or null. */
export function maybeBytes(reply: unknown): Uint8Array | null {
  return reply === null || reply === undefined ? null : bytes(reply);
}

/** An HGETALL reply as a map of field to raw value. */
export function fields(reply: unknown): Map<string, Buffer> {
  const flat = asArray(reply);
  const map = new Map<string, Buffer>();
  for (let i = 0; i + 1 < flat.length; i += 2) map.set(text(flat[i]), flat[i + 1] as Buffer);
  return map;
}

function corrupted(id: string, field: string, why: string): CodecError {
  return new CodecError(`the stored header of run "${id}" is corrupted: field "${field}" ${why}`, { instanceId: id, field });
}

/**
 * The prefix of a step's field in the run header (`lua/includes/header.lua` names it
 * ATTEMPTS_PREFIX): `a:<key>` its attempts, then ` <version>` once it committed. The header's
 * plain fields have no ":".
 */
const ATTEMPTS_PREFIX = "a:";

/** The header's attempts fields (`a:<key>`), by commit key. */
function attemptFields(header: ReadonlyMap<string, Buffer>): Map<string, string> {
  const steps = new Map<string, string>();
  for (const [field, value] of header) {
    if (field.startsWith(ATTEMPTS_PREFIX)) steps.set(field.slice(ATTEMPTS_PREFIX.length), value.toString("utf8"));
  }
  return steps;
}

/** The header's fields that are not stored while empty (`lua/includes/header.lua`): absent reads as "". */
const EMPTY_WHEN_ABSENT: ReadonlySet<string> = new Set(["error", "requested", "dueAt", "lastCommit", "startAt", "finishedAt"]);

/** Parses a stored header (the hash, its step fields included) into a {@link RunHeader}. */
export function parseHeader(id: string, headerReply: unknown): RunHeader {
  const map = fields(headerReply);
  const str = (field: string): string => {
    const value = map.get(field);
    if (value !== undefined) return value.toString("utf8");
    if (EMPTY_WHEN_ABSENT.has(field)) return "";
    throw corrupted(id, field, "is missing");
  };
  const int = (field: string, nullable = false): number | null => {
    const raw = str(field);
    if (nullable && raw === "") return null;
    const n = Number(raw);
    if (raw === "" || !Number.isFinite(n)) throw corrupted(id, field, `is not a number: ${JSON.stringify(raw.slice(0, 40))}`);
    return n;
  };
  const json = (field: string): unknown => {
    try {
      return JSON.parse(str(field)) as unknown;
    } catch (e) {
      if (e instanceof CodecError) throw e;
      throw corrupted(id, field, "is not valid JSON");
    }
  };

  const status = str("status") as RunStatus;
  if (!STATUSES.includes(status)) throw corrupted(id, "status", `is not a status: ${JSON.stringify(status)}`);
  const requested = str("requested");
  if (requested !== "" && requested !== "cancel" && requested !== "pause") throw corrupted(id, "requested", "is not cancel or pause");
  const error = str("error") === "" ? null : json("error");
  if (error !== null && (typeof error !== "object" || typeof (error as SerializedError).message !== "string")) {
    throw corrupted(id, "error", "is not a stored error");
  }
  const attempts: Record<string, number> = {};
  for (const [key, value] of attemptFields(map)) {
    // "<attempts>" or, once committed, "<attempts> <version>".
    const n = Number(value.split(" ", 1)[0]);
    if (!Number.isFinite(n))
      throw new CodecError(`the stored attempts of run "${id}" are corrupted at key "${key}"`, { instanceId: id, step: key });
    attempts[key] = n;
  }
  return {
    id,
    workflow: str("workflow"),
    hash: str("hash"),
    status,
    version: int("version") as number,
    waits: parseWaits(id, json("waits")),
    attempts,
    error: error as SerializedError | null,
    requested: requested === "" ? null : requested,
    dueAt: int("dueAt", true),
    createdAt: int("createdAt") as number,
    updatedAt: int("updatedAt") as number,
    ...(str("finishedAt") !== "" ? { finishedAt: int("finishedAt") as number } : {}),
    ...(str("startAt") !== "" ? { startAt: int("startAt") as number } : {}),
    ...(map.has("parent") ? { parent: parseLink(id, json("parent")) } : {}),
    ...(map.has("children") ? { children: parseChildren(id, json("children")) } : {}),
  };
}

/** The header field "parent" (written by linkRun-1.lua): `{ id, key }`. */
export function parseLink(id: string, value: unknown): RunLink {
  const o = (typeof value === "object" && value !== null ? value : {}) as Record<string, unknown>;
  if (typeof o.id !== "string" || typeof o.key !== "string") throw corrupted(id, "parent", "is not a run link");
  return { id: o.id, key: o.key };
}

/** The header field "children" (written by linkRun-1.lua): `{ [commitKey]: childId }`. */
function parseChildren(id: string, value: unknown): Record<string, string> {
  // cjson writes an empty table as `{}`, and never a list here: one entry is written at a time.
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw corrupted(id, "children", "is not an object");
  const children: Record<string, string> = {};
  for (const [key, child] of Object.entries(value)) {
    if (typeof child !== "string") throw corrupted(id, "children", `holds a non-string id at "${key}"`);
    children[key] = child;
  }
  return children;
}

/**
 * Waits as the scripts store them (`lua/includes/waits.lua`): one array per wait,
 * `["t", key, "d" | "r", until]` or `["s", key, signal, timeoutAt | null]`, or an
 * object per wait as headers written by earlier versions hold them.
 */
/** The timer reasons by the letter the compact form stores (`includes/waits.lua` writes the same letters). */
const TIMER_REASONS: Readonly<Record<string, TimerReason>> = { d: "delay", r: "retry", o: "timeout", b: "start", l: "slot", c: "child" };

function parseWaits(id: string, value: unknown): Wait[] {
  // cjson writes an empty list as `{}` (a `parked` event's waits are decoded and encoded again).
  if (isEmptyObject(value)) return [];
  if (!Array.isArray(value)) throw corrupted(id, "waits", "is not a list");
  return value.map((w: unknown): Wait => {
    const o = (
      Array.isArray(w)
        ? w[0] === "t"
          ? { kind: "timer", key: w[1], reason: TIMER_REASONS[w[2] as string], until: w[3] }
          : w[0] === "s"
            ? { kind: "signal", key: w[1], signal: w[2], timeoutAt: w[3] }
            : {}
        : typeof w === "object" && w !== null
          ? w
          : {}
    ) as Record<string, unknown>;
    const { kind, key } = o;
    if (
      kind === "timer" &&
      typeof key === "string" &&
      (o.reason === "delay" ||
        o.reason === "retry" ||
        o.reason === "timeout" ||
        o.reason === "start" ||
        o.reason === "slot" ||
        o.reason === "child") &&
      typeof o.until === "number"
    ) {
      return { kind, key, reason: o.reason, until: o.until };
    }
    if (
      kind === "signal" &&
      typeof key === "string" &&
      typeof o.signal === "string" &&
      (o.timeoutAt === null || typeof o.timeoutAt === "number")
    ) {
      return { kind, key, signal: o.signal, timeoutAt: o.timeoutAt };
    }
    throw corrupted(id, "waits", `holds a malformed wait: ${JSON.stringify(w)}`);
  });
}

function isEmptyObject(value: unknown): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value) && Object.keys(value).length === 0;
}

function isStoredError(value: unknown): value is SerializedError {
  return typeof value === "object" && value !== null && typeof (value as SerializedError).message === "string";
}

/**
 * A `step.committed` event as the history keeps it, `[at, key, attempt]`, as the object it stands
 * for; anything else as it is.
 */
function expandCommit(id: string, stored: unknown): unknown {
  if (!Array.isArray(stored)) return stored;
  const [at, key, attempt] = stored as unknown[];
  if (stored.length !== 3 || typeof key !== "string" || typeof attempt !== "number") {
    throw new CodecError(`the stored history of run "${id}" is corrupted: a committed step's event is malformed`, { instanceId: id });
  }
  return { at, type: "step.committed", key, attempt };
}

/**
 * The `hist:` list (`lua/includes/history.lua`): one JSON `RunEvent` per entry (a committed step's
 * as `[at, key, attempt]`), oldest first. An event of a kind this version does not know (written by
 * a newer one) is left out.
 */
export function parseHistory(id: string, entries: readonly string[]): RunEvent[] {
  const events: RunEvent[] = [];
  for (const entry of entries) {
    let event: Record<string, unknown>;
    try {
      event = expandCommit(id, JSON.parse(entry)) as Record<string, unknown>;
    } catch (e) {
      if (e instanceof CodecError) throw e;
      throw new CodecError(`the stored history of run "${id}" is corrupted: an event is not valid JSON`, { instanceId: id });
    }
    if (typeof event !== "object" || event === null || typeof event.at !== "number") {
      throw new CodecError(`the stored history of run "${id}" is corrupted: an event has no time`, { instanceId: id });
    }
    if (!(RUN_EVENT_TYPES as readonly unknown[]).includes(event.type)) continue;
    if (event.error !== undefined && !isStoredError(event.error)) {
      throw new CodecError(`the stored history of run "${id}" is corrupted: a "${String(event.type)}" event's error`, { instanceId: id });
    }
    events.push((event.type === "parked" ? { ...event, waits: parseWaits(id, event.waits) } : event) as unknown as RunEvent);
  }
  return events;
}

/**
 * The attempt records getAttemptRecords-2.lua reads (`lua/includes/attempts.lua` writes them), as
 * commit key and JSON pairs: per commit key, `[[attempt, startedAt|null, finishedAt|null, error?], ...]`.
 */
export function parseAttemptRecords(id: string, reply: unknown): Map<string, AttemptRecord[]> {
  const records = new Map<string, AttemptRecord[]>();
  const time = (t: unknown) => (typeof t === "number" ? t : null);
  for (const [key, raw] of fields(reply)) {
    let list: unknown;
    try {
      list = JSON.parse(raw.toString());
    } catch {
      list = undefined;
    }
    if (isEmptyObject(list)) list = [];
    const valid = (r: unknown): r is unknown[] =>
      Array.isArray(r) && typeof r[0] === "number" && (r[3] === undefined || r[3] === null || isStoredError(r[3]));
    if (!Array.isArray(list) || !list.every(valid)) {
      throw new CodecError(`the stored attempt records of run "${id}" are corrupted at key "${key}"`, { instanceId: id, step: key });
    }
    records.set(
      key,
      list.map((r) => ({
        attempt: r[0] as number,
        startedAt: time(r[1]),
        finishedAt: time(r[2]),
        error: isStoredError(r[3]) ? r[3] : null,
      })),
    );
  }
  return records;
}

function missingInput(id: string): never {
  throw new CodecError(`the stored input of run "${id}" is missing`, { instanceId: id });
}

/**
 * The committed steps in a header (HGETALL reply), in commit order: by the version each commit made.
 * A step whose attempts carry no version has not committed.
 */
export function parseCommitOrder(headerReply: unknown): string[] {
  const committed: { key: string; version: number }[] = [];
  for (const [key, value] of attemptFields(fields(headerReply))) {
    const version = Number(value.split(" ")[1]);
    if (Number.isFinite(version)) committed.push({ key, version });
  }
  return committed.sort((a, b) => a.version - b.version).map((c) => c.key);
}

/**
 * The fields of a run's outputs hash that hold its input and result, and the prefix of those that
 * hold a step's attempt records, none of them a step's output (`lua/includes/header.lua`).
 */
const INPUT_FIELD = "#input";
const RESULT_FIELD = "#result";
const RECORDS_PREFIX = "#tries:";

/**
 * Parses a `{ header, outputs (with the input and result), now }` reply tail into a {@link StoredRun},
 * its outputs in commit order. Redis keeps a hash's fields in the order they came only while the hash
 * is small (a listpack): one output or attempt record over 64 bytes makes it a hash table, whose
 * order is the server's own.
 */
export function parseStoredRun(id: string, reply: readonly unknown[]): StoredRun {
  const [header, outputs, now] = reply;
  const payloads = fields(outputs);
  const input = payloads.get(INPUT_FIELD);
  const result = payloads.get(RESULT_FIELD) ?? null;
  payloads.delete(INPUT_FIELD);
  payloads.delete(RESULT_FIELD);
  for (const field of payloads.keys()) if (field.startsWith(RECORDS_PREFIX)) payloads.delete(field);
  const order = new Map(parseCommitOrder(header).map((key, i) => [key, i]));
  const rank = (key: string) => order.get(key) ?? order.size;
  return {
    header: parseHeader(id, header),
    input: Buffer.isBuffer(input) ? bytes(input) : missingInput(id),
    outputs: new Map([...payloads].sort(([a], [b]) => rank(a) - rank(b)).map(([key, value]) => [key, bytes(value)])),
    result: maybeBytes(result),
    now: Number(now),
  };
}
