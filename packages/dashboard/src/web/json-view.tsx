/**
 * JSON values (inputs, outputs, payloads, error contexts) as a folding tree
 * that never outgrows its card: a short value reads on one line, objects and
 * arrays fold (big ones start folded, and a folded node renders nothing of
 * what is inside it), long arrays show their first items, long strings wrap
 * and are cut until asked for. Every value is rendered as text.
 */
import { useState } from "preact/hooks";
import type { JsonValue } from "../shared/api.js";

/** Values whose one-line JSON is at most this long read on one line. */
const INLINE_CHARS = 80;
/** Objects and arrays with more entries than this start folded, and so does everything this deep. */
const OPEN_ENTRIES = 20;
const OPEN_DEPTH = 3;
/** Array items and object keys shown at first, and how many more each click shows. */
const SHOWN_ENTRIES = 100;
/** Strings longer than this are cut until asked for. */
const SHOWN_CHARS = 1_000;

/** `value` under `label`: on one line when short, else as a folding tree. `undefined` (no value) reads as a dash. */
export function JsonView({ value, label }: { value: JsonValue | undefined; label: string }) {
  const line = value === undefined ? "—" : JSON.stringify(value);
  if (line.length <= INLINE_CHARS) {
    return (
      <div class="json-view json-inline">
        <span class="muted">{label}</span> <code class="json-line">{line}</code>
      </div>
    );
  }
  return (
    <div class="json-view">
      <JsonNode name={label} value={value ?? null} depth={0} />
    </div>
  );
}

function JsonNode({ name, value, depth }: { name: string; value: JsonValue; depth: number }) {
  if (typeof value !== "object" || value === null) {
    return (
      <div class="json-entry">
        <span class="json-key">{name}</span> <Primitive value={value} />
      </div>
    );
  }
  return <Folding name={name} value={value} depth={depth} />;
}

function Folding({
  name,
  value,
  depth,
}: {
  name: string;
  value: readonly JsonValue[] | { readonly [key: string]: JsonValue };
  depth: number;
}) {
  const entries: [string, JsonValue][] = Array.isArray(value)
    ? (value as readonly JsonValue[]).map((v, i): [string, JsonValue] => [String(i), v])
    : Object.entries(value as { readonly [key: string]: JsonValue });
  const [open, setOpen] = useState(depth < OPEN_DEPTH && entries.length <= OPEN_ENTRIES);
  const [shown, setShown] = useState(SHOWN_ENTRIES);
  const brackets = Array.isArray(value) ? ["[", "]"] : ["{", "}"];
  const size = Array.isArray(value)
    ? `${entries.length} item${entries.length === 1 ? "" : "s"}`
    : `${entries.length} key${entries.length === 1 ? "" : "s"}`;
  return (
    <details class="json-node" open={open} onToggle={(e) => setOpen(e.currentTarget.open)}>
      <summary>
        <span class="json-key">{name}</span>{" "}
        <span class="muted">
          {brackets[0]}
          {open ? "" : ` ${preview(value)} `}
          {brackets[1]} {size}
        </span>
      </summary>
      {open ? (
        <div class="json-children">
          {entries.slice(0, shown).map(([key, v]) => (
            <JsonNode key={key} name={key} value={v} depth={depth + 1} />
          ))}
          {entries.length > shown ? (
            <button type="button" class="link-button" onClick={() => setShown(shown + SHOWN_ENTRIES)}>
              show {Math.min(SHOWN_ENTRIES, entries.length - shown)} more of {entries.length - shown}
            </button>
          ) : null}
        </div>
      ) : null}
    </details>
  );
}

function Primitive({ value }: { value: string | number | boolean | null }) {
  const [whole, setWhole] = useState(false);
  if (typeof value !== "string") return <code class={`json-${value === null ? "null" : typeof value}`}>{String(value)}</code>;
  const text = JSON.stringify(value);
  if (whole || text.length <= SHOWN_CHARS) return <code class="json-string">{text}</code>;
  return (
    <>
      <code class="json-string">{text.slice(0, SHOWN_CHARS)}…</code>{" "}
      <button type="button" class="link-button" onClick={() => setWhole(true)}>
        show all {value.length} characters
      </button>
    </>
  );
}

/** A folded node's first keys (an object) or its length (an array). */
function preview(value: readonly JsonValue[] | { readonly [key: string]: JsonValue }): string {
  if (Array.isArray(value)) return "…";
  const keys = Object.keys(value);
  const shown = keys.slice(0, 4).join(", ");
  return keys.length > 4 ? `${shown}, …` : shown;
}
