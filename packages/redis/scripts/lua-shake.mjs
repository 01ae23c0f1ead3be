/**
 * Drops the include definitions a script does not use. Redis runs a script's whole body on every call,
 * so each `local function` and table an include defines is built again per call, used or not; with the
 * largest includes spliced into most scripts that was a tenth of a small script's cost.
 *
 * An include is cut into chunks at column 0: a definition (`local function NAME(` to its `end` line, or
 * `local A, B = <value>` with no call in the value, so dropping it drops no effect) with the comment
 * lines right above it and the blank lines after it, and everything else, which is always kept. A
 * definition is kept when a name it defines is mentioned in the script's own text, in an always-kept
 * chunk or in a kept definition (by name, whatever the scope: mentioning too much only keeps too much).
 * Whatever does not lex, or whose blocks and brackets do not close where its lines say, is kept.
 */

const KEYWORDS = new Set(
  "and break do else elseif end false for function goto if in local nil not or repeat return then true until while".split(" "),
);
// The globals a Redis script may use (Lua 5.1's base library and the libraries Redis loads).
const GLOBALS = new Set(
  [
    "redis cjson cmsgpack bit struct string table math os debug coroutine KEYS ARGV _G _VERSION",
    "tonumber tostring type pairs ipairs unpack pcall xpcall error assert next select rawget rawset",
    "rawequal setmetatable getmetatable loadstring gcinfo self",
  ]
    .join(" ")
    .split(" "),
);

/**
 * Lua's tokens, enough to tell names from strings and comments: `{ kind, text }` with kind "name",
 * "string", "comment", "number" or "op" (a bracket or operator, `..` and `...` as one). Null when the
 * text does not lex (an unclosed string or comment).
 */
export function lex(text) {
  const tokens = [];
  let at = 0;
  const longEnd = (from) => {
    // A long bracket `[==[` at `from`: returns where its closing `]==]` ends, -1 if unclosed, null if none.
    const open = /^\[(=*)\[/.exec(text.slice(from, from + 64));
    if (!open) return null;
    const close = text.indexOf(`]${open[1]}]`, from + open[0].length);
    return close < 0 ? -1 : close + open[1].length + 2;
  };
  while (at < text.length) {
    const c = text[at];
    let end;
    let kind;
    if (/\s/.test(c)) {
      at++;
      continue;
    } else if (text.startsWith("--", at)) {
      kind = "comment";
      end = longEnd(at + 2);
      if (end === null) {
        end = text.indexOf("\n", at);
        if (end < 0) end = text.length;
      }
    } else if (c === '"' || c === "'") {
      kind = "string";
      end = at + 1;
      while (end < text.length && text[end] !== c && text[end] !== "\n") end += text[end] === "\\" ? 2 : 1;
      if (text[end] !== c) return null;
      end++;
    } else if (c === "[" && (end = longEnd(at)) !== null) {
      kind = "string";
    } else if (/[A-Za-z_]/.test(c)) {
      kind = "name";
      end = at + /^\w+/.exec(text.slice(at))[0].length;
    } else if (/[0-9]/.test(c) || (c === "." && /[0-9]/.test(text[at + 1] ?? ""))) {
      kind = "number";
      end = at + /^\.?(?:[eEpP][+-]|[\w.])+/.exec(text.slice(at))[0].length;
    } else {
      kind = "op";
      end = at + (/^(?:\.\.\.|\.\.|==|~=|<=|>=|::)/.exec(text.slice(at))?.[0].length ?? 1);
    }
    if (end < 0) return null;
    tokens.push({ kind, text: text.slice(at, end) });
    at = end;
  }
  return tokens;
}

/** The names `tokens` mention as variables (not keywords, not a field after `.` or `:`). */
function mentions(tokens) {
  const names = new Set();
  tokens.forEach((token, i) => {
    const before = tokens[i - 1]?.text;
    if (token.kind === "name" && !KEYWORDS.has(token.text) && before !== "." && before !== ":") names.add(token.text);
  });
  return names;
}

/** Whether `tokens` close every block and bracket they open, and only at their end. */
function closesAtEnd(tokens) {
  let depth = 0;
  for (const [i, token] of tokens.entries()) {
    if (token.kind === "op" && /^[([{]$/.test(token.text)) depth++;
    else if (token.kind === "op" && /^[)\]}]$/.test(token.text)) depth--;
    else if (token.kind === "name" && /^(?:function|if|do|repeat)$/.test(token.text)) depth++;
    else if (token.kind === "name" && /^(?:end|until)$/.test(token.text)) depth--;
    else continue;
    if (depth < 0 || (depth === 0 && i < tokens.length - 1)) return false;
  }
  return depth === 0;
}

const FUNCTION = /^local function ([A-Za-z_]\w*)\s*\(/;
const VALUE = /^local ([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*)\s*=(?!=)/;
// A line after a value that starts a new statement (not a continuation such as `.. x` or `or y`).
const NEXT_STATEMENT = /^(?:\s*$|--|(?!(?:and|or|not)\b)[A-Za-z_])/;
const BLANK = /^\s*$/;

/**
 * The chunks of an include's text, in order, joined they are the text: `{ text, defines, mentions }`,
 * `defines` the names a droppable definition defines, empty for a chunk that is always kept.
 */
export function chunksOf(text) {
  const lines = text.split(/(?<=\n)/);
  const join = (from, to) => lines.slice(from, to).join("");
  const chunks = [];
  let done = 0; // lines[0, done) are in chunks
  const pushKept = (to) => {
    if (to > done) chunks.push({ text: join(done, to), defines: [], mentions: mentions(lex(join(done, to)) ?? []) });
    done = to;
  };
  for (let i = 0; i < lines.length; i++) {
    const definition = definitionAt(lines, i);
    if (!definition) continue;
    let { end } = definition;
    while (end < lines.length && BLANK.test(lines[end])) end++;
    // The comment right above: the most lines above (none blank, none in an earlier chunk) that are all comment.
    let top = i;
    while (top > done && !BLANK.test(lines[top - 1])) top--;
    while (top < i && !lex(join(top, i))?.every((token) => token.kind === "comment")) top++;
    pushKept(top);
    chunks.push({ text: join(top, end), defines: definition.names, mentions: definition.mentions });
    done = end;
    i = end - 1;
  }
  pushKept(lines.length);
  return chunks;
}

/** The droppable definition starting at `lines[i]`: `{ names, end, mentions }`, or null. */
function definitionAt(lines, i) {
  const fn = FUNCTION.exec(lines[i]);
  const value = fn ? null : VALUE.exec(lines[i]);
  if (!fn && !value) return null;
  for (let end = i + 1; end <= lines.length; end++) {
    const last = lines[end - 1];
    if (fn ? !/^end\s*$/.test(last) : end < lines.length && !NEXT_STATEMENT.test(lines[end])) continue;
    const tokens = lex(lines.slice(i, end).join(""));
    if (!tokens) return null;
    if (!closesAtEnd(tokens.filter((token) => token.kind !== "comment"))) {
      if (fn) return null;
      continue;
    }
    // A value with a call in it may have an effect: keep it.
    if (value && tokens.some((token) => token.text === "(" || token.text === "function")) return null;
    // Its own names stay among its mentions: `local T = T or {}` reads an earlier T.
    return { names: fn ? [fn[1]] : value[1].split(",").map((name) => name.trim()), end, mentions: mentions(tokens) };
  }
  return null;
}

/**
 * Which chunks a script keeps: `body` is the script's own text, `chunks` its includes' chunks in order.
 * Returns a boolean per chunk.
 */
export function reachable(body, chunks) {
  const definers = new Map();
  chunks.forEach((chunk, i) => {
    for (const name of chunk.defines) definers.set(name, [...(definers.get(name) ?? []), i]);
  });
  const kept = chunks.map((chunk) => chunk.defines.length === 0);
  const bodyTokens = lex(body);
  const pending = [...(bodyTokens ? mentions(bodyTokens) : (body.match(/[A-Za-z_]\w*/g) ?? []))];
  chunks.forEach((chunk, i) => kept[i] && pending.push(...chunk.mentions));
  const seen = new Set();
  while (pending.length > 0) {
    const name = pending.pop();
    if (seen.has(name)) continue;
    seen.add(name);
    for (const i of definers.get(name) ?? []) {
      kept[i] = true;
      pending.push(...chunks[i].mentions);
    }
  }
  return kept;
}

/** A script's own arguments: globals of a script run by EVAL, the parameters of a library's function. */
const SCRIPT_ARGUMENTS = new Set(["KEYS", "ARGV"]);

/**
 * The names `source` uses as variables but declares nowhere (as a local, a function, a parameter or a
 * loop variable) and that are no global of Redis's Lua: a script using one fails only when it runs.
 * Scope is ignored (a name declared anywhere counts), which is enough to catch a dropped definition.
 * With `shared`, `source` is shared definitions, which must not read KEYS or ARGV: in a function
 * library they are no globals, only each function's parameters.
 */
export function undeclared(source, { shared = false } = {}) {
  const tokens = lex(source);
  if (!tokens) return [];
  const code = tokens.filter((token) => token.kind !== "comment");
  const declared = new Set();
  code.forEach((token, i) => {
    if (!/^(?:local|function|for)$/.test(token.text) || token.kind !== "name") return;
    // The names after the keyword, and a function's parameters.
    for (let j = i + 1; j < code.length; j++) {
      const t = code[j];
      if (t.kind === "name" && !KEYWORDS.has(t.text)) declared.add(t.text);
      else if (!/^[,.:(]$|^\.\.\.$/.test(t.text)) break;
    }
  });
  const missing = new Set();
  code.forEach((token, i) => {
    const before = code[i - 1]?.text;
    if (token.kind !== "name" || KEYWORDS.has(token.text) || before === "." || before === ":") return;
    if (code[i + 1]?.text === "=") return; // a table field's name (an assignment's target is read elsewhere)
    const global = GLOBALS.has(token.text) && !(shared && SCRIPT_ARGUMENTS.has(token.text));
    if (!declared.has(token.text) && !global) missing.add(token.text);
  });
  return [...missing];
}
