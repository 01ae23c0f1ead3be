/**
 * The actions the dashboard can take on a run. Each is one client call; what
 * this file adds is validation a browser cannot be trusted with (the body's
 * shape) and a message that says what happened, including when it waits for a
 * step boundary. Whether the run can still wait for a signal's name, whether
 * its payload fits the signal's schema, whether a run can be retried, rewound
 * to a step or deleted, is the client's check, the same as for every other caller.
 */
import { assertId, type ControlResult, type DurableClient } from "@parkway/core";
import {
  MAX_JSON_DEPTH,
  type ActionResult,
  type JsonValue,
  type RunAction,
  type RewindRequest,
  type SignalRequest,
} from "../shared/api.js";
import { HttpError } from "./errors.js";
import type { RunReader } from "./runs.js";

/** Actions whose body carries fields: they must be sent as JSON. */
export const ACTIONS_WITH_BODY: readonly RunAction[] = ["signal", "rewind"];

/**
 * Reads a request body that must be a JSON object with no fields but `fields`; an empty body
 * reads as `{}`. `shape` shows the expected body in messages.
 * @throws HttpError 400 naming what is wrong
 */
export function parseBody(text: string, fields: readonly string[], shape: string): Readonly<Record<string, unknown>> {
  if (text.trim() === "") return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, "INVALID_JSON", `the request body is not valid JSON: ${(error as Error).message}`);
  }
  // JSON.parse takes any depth, but encoding and showing a value recurse: refuse a deep one here, as a 400.
  if (depthOf(body) > MAX_JSON_DEPTH) {
    throw new HttpError(400, "VALIDATION", `the request body is nested deeper than ${MAX_JSON_DEPTH} levels`);
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new HttpError(400, "VALIDATION", `the request body must be a JSON object ${shape}`);
  }
  const unknownField = Object.keys(body).find((k) => !fields.includes(k));
  if (unknownField !== undefined) throw new HttpError(400, "VALIDATION", `unknown field ${JSON.stringify(unknownField.slice(0, 40))}`);
  return body as Record<string, unknown>;
}

/** Reads the body of `POST .../signal`. @throws HttpError 400 naming what is wrong, ValidationError for a bad name */
export function parseSignalRequest(text: string): SignalRequest {
  const { name, payload } = parseBody(text, ["name", "payload"], '{ "name": ..., "payload": ... }');
  assertId(name, "signal name");
  // JSON.parse can only produce JSON values, so the payload needs no further check.
  return payload === undefined ? { name } : { name, payload: payload as JsonValue };
}

/** Reads the body of `POST .../rewind`. @throws HttpError 400 naming what is wrong, ValidationError for a bad step key */
export function parseRewindRequest(text: string): RewindRequest {
  const { to } = parseBody(text, ["to"], '{ "to": "<commit key of a committed step>" }');
  assertId(to, "rewind: to");
  return { to };
}

/** How deeply arrays and objects nest in a parsed JSON value, walked without recursion (a deep value must not overflow the stack). */
export function depthOf(value: unknown): number {
  let deepest = 0;
  const pending: [unknown, number][] = [[value, 0]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [v, depth] = next;
    if (typeof v !== "object" || v === null) continue;
    deepest = Math.max(deepest, depth + 1);
    if (deepest > MAX_JSON_DEPTH) return deepest;
    for (const child of Object.values(v)) pending.push([child, depth + 1]);
  }
  return deepest;
}

/** Runs `action` on run `id`. @throws HttpError, or Parkway's typed errors (unknown run, finished run, payload too large, ...) */
export async function performAction(
  client: DurableClient,
  reader: RunReader,
  id: string,
  action: RunAction,
  bodyText: string,
): Promise<ActionResult> {
  assertId(id, "run id");
  switch (action) {
    case "signal":
      return sendSignal(client, reader, id, parseSignalRequest(bodyText));
    case "rewind": {
      const { to } = parseRewindRequest(bodyText);
      const result = await client.rewind(id, { to });
      const paused = result.status === "paused" ? "; it is paused: resume it to go on" : "";
      return { ok: true, status: result.status, immediate: true, message: `run rewound to step "${to}"${paused}` };
    }
    case "delete":
      parseBody(bodyText, [], "{}");
      await client.delete(id);
      return { ok: true, status: null, immediate: true, message: "run deleted" };
    default:
      parseBody(bodyText, [], "{}");
      return controlled(action, await client[action](id));
  }
}

async function sendSignal(client: DurableClient, reader: RunReader, id: string, request: SignalRequest): Promise<ActionResult> {
  const run = await client.status(id);
  const waiting = run.waitingFor.some((w) => w.kind === "signal" && w.signal === request.name);
  // With the run's definition loaded, a handle lets the client check the name against where the run stands
  // (UnexpectedSignalError, a 400) even when the client itself was given no workflows.
  const definition = reader.definition(run.workflow, run.hash);
  if (definition) await client.handle(definition, id).signal(request.name, request.payload);
  else await client.signal(id, request.name, request.payload);
  const after = await client.status(id);
  return {
    ok: true,
    status: after.status,
    immediate: waiting,
    message: waiting
      ? `signal "${request.name}" delivered: the run goes on`
      : `signal "${request.name}" buffered: the run takes it when it reaches its wait`,
  };
}

type Control = "cancel" | "pause" | "resume" | "retry";
const DONE: Record<Control, string> = {
  cancel: "run cancelled",
  pause: "run paused",
  resume: "run resumed",
  retry: "run retried: it goes on from the step that failed",
};

function controlled(action: Control, result: ControlResult): ActionResult {
  return {
    ok: true,
    status: result.status,
    immediate: result.immediate,
    message: result.immediate ? DONE[action] : `${action} requested: it takes effect when the running step ends`,
  };
}
