/**
 * Where a command's answer goes: text for people on stdout by default, or,
 * with `--json`, exactly one JSON document on stdout for scripts. Messages
 * about failures always go to stderr.
 */

/** Streams a command writes to (the process's, or a test's). */
export interface Streams {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

/** A command's way to answer. */
export class Output {
  constructor(
    readonly streams: Streams,
    readonly json: boolean,
  ) {}

  /** Prints the command's answer: `text()` for people, `data` as JSON for scripts. */
  result(data: unknown, text: () => string): void {
    if (this.json) this.streams.stdout.write(`${toJson(data)}\n`);
    else this.streams.stdout.write(ensureNewline(text()));
  }

  /** Prints a failure: a message on stderr and, with `--json`, `{ "error": ... }` on stdout. */
  failure(message: string, error: { readonly code: string; readonly exitCode: number; readonly [key: string]: unknown }): void {
    this.streams.stderr.write(ensureNewline(`parkway: ${message}`));
    if (this.json) this.streams.stdout.write(`${toJson({ error: { ...error, message } })}\n`);
  }

  /** A note for people on stderr (progress, hints); never part of the JSON answer. */
  note(message: string): void {
    this.streams.stderr.write(ensureNewline(message));
  }
}

function ensureNewline(text: string): string {
  return text.endsWith("\n") ? text : `${text}\n`;
}

/**
 * JSON for any decoded payload. Payloads are msgpack, which carries more than
 * JSON does: a bigint becomes a string, a Map an object, a Set an array, bytes
 * a base64 string, and `undefined` null.
 */
export function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(value === undefined ? null : value, jsonReplacer, indent);
}

function jsonReplacer(this: unknown, _key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), v as unknown]));
  if (value instanceof Set) return [...value];
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64");
  // Buffer's own toJSON runs before the replacer sees it.
  if (isBufferJson(value)) return Buffer.from(value.data).toString("base64");
  return value;
}

function isBufferJson(value: unknown): value is { type: "Buffer"; data: number[] } {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as { type?: unknown }).type === "Buffer" &&
    Array.isArray((value as { data?: unknown }).data)
  );
}
