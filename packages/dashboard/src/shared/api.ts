/**
 * The dashboard's HTTP API: every path, request and response shape, imported by
 * the server (which produces them) and by the front end (which consumes them),
 * so the two cannot drift apart. Values inside (step outputs, inputs, payloads)
 * are made JSON-safe by the server before they are sent.
 */
import type { BranchView, RunStatus, SerializedError, StepDetail, StepNodeView, StepState, StepView, Wait } from "@parkway/core";

export type { BranchView, RunStatus, SerializedError, StepDetail, StepNodeView, StepState, StepView, Wait };

/** Every run status, in the order the dashboard shows them. */
export const RUN_STATUSES = [
  "pending",
  "running",
  "parked",
  "paused",
  "completed",
  "failed",
  "cancelled",
] as const satisfies readonly RunStatus[];

/** A value that survives `JSON.stringify` and `JSON.parse` unchanged. */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** Largest request body the server reads; larger bodies get 413. */
export const MAX_BODY_BYTES = 64 * 1024;

/** Deepest nesting of arrays and objects a request body may have; deeper bodies get 400. */
export const MAX_JSON_DEPTH = 100;

/**
 * A run id as one URL path segment. `encodeURIComponent` leaves `.` alone, and
 * URL parsers treat the segments `.` and `..` (even spelled `%2E`) as "this
 * folder" and "the parent", so the ids `.` and `..` are sent as `~.` and `~..`;
 * an id that already looks like that (`~.`, `~~..`) gets one more `~`, so every
 * id has exactly one spelling and {@link decodeRunId} undoes it.
 */
export function encodeRunId(id: string): string {
  return /^~*\.{1,2}$/.test(id) ? `~${id}` : encodeURIComponent(id);
}

/** The run id a path segment names (already percent-decoded, as routers hand it over). */
export function decodeRunId(segment: string): string {
  return /^~+\.{1,2}$/.test(segment) ? segment.slice(1) : segment;
}

/** The API's paths, built in one place for both sides. */
export const paths = {
  meta: "/api/meta",
  session: "/api/session",
  runs: "/api/runs",
  runsStream: "/api/runs-stream",
  run: (id: string) => `/api/runs/${encodeRunId(id)}`,
  runStream: (id: string) => `/api/runs/${encodeRunId(id)}/stream`,
  action: (id: string, action: RunAction) => `/api/runs/${encodeRunId(id)}/${action}`,
} as const;

/** What can be done to a run from the dashboard. */
export type RunAction = "signal" | "cancel" | "pause" | "resume";

/** A workflow definition the dashboard has loaded. */
export interface WorkflowInfo {
  readonly name: string;
  /** Signal names the workflow waits for somewhere in its tree. */
  readonly signals: readonly string[];
}

/** `GET /api/meta`: what the dashboard runs against. */
export interface DashboardMeta {
  readonly engine: "redis" | "embedded";
  /** The Redis namespace, or null for the embedded engine. */
  readonly namespace: string | null;
  /** Actions need `Authorization: Bearer <token>`. */
  readonly tokenRequired: boolean;
  /** Reads (lists, runs, streams) need the read token: a bearer header, or the session cookie `POST /api/session` sets. */
  readonly readTokenRequired: boolean;
  /** This request carried a read credential the dashboard accepts (always true when none is required). */
  readonly readAuthorized: boolean;
  readonly workflows: readonly WorkflowInfo[];
  readonly maxBodyBytes: number;
}

/** Query of `GET /api/runs` and `GET /api/runs-stream`. */
export interface RunsQuery {
  readonly status?: RunStatus;
  readonly workflow?: string;
  readonly cursor?: string;
  readonly limit?: number;
}

/** One row of the runs list. */
export interface RunRow {
  readonly id: string;
  readonly workflow: string;
  readonly status: RunStatus;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly dueAt: number | null;
  readonly error: SerializedError | null;
}

/** `GET /api/runs`: one page of runs, oldest first, with counts per status (for the same workflow filter). */
export interface RunsPage {
  readonly runs: readonly RunRow[];
  /** Pass back as `cursor` for the next page; null on the last page. */
  readonly cursor: string | null;
  /** Runs per status, exact, read from the store's status indexes. */
  readonly counts: { readonly [S in RunStatus]: number };
}

/** Whether the dashboard can draw a run's tree. */
export type DefinitionState =
  /** The exact definition (name and hash) the run started with is loaded: the tree is drawn. */
  | "loaded"
  /** A workflow of that name is loaded, but with another hash: only committed steps are listed. */
  | "changed"
  /** No workflow of that name is loaded: only committed steps are listed. */
  | "missing";

/** `GET /api/runs/:id`: a run's header fields and its continuation tree. */
export interface RunDetail {
  readonly id: string;
  readonly workflow: string;
  readonly hash: string;
  readonly status: RunStatus;
  readonly version: number;
  readonly requested: "cancel" | "pause" | null;
  readonly error: SerializedError | null;
  readonly waitingFor: readonly Wait[];
  readonly input: JsonValue;
  readonly output: JsonValue;
  readonly dueAt: number | null;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly definition: DefinitionState;
  /** The tree from `describeRun`, when the definition is loaded. */
  readonly tree: readonly StepNodeView[] | null;
  /** Every committed step, flat: the fallback view without a definition. */
  readonly steps: readonly StepView[];
  /** Signal names the run's workflow waits for (empty without a definition). */
  readonly signals: readonly string[];
}

/** Body of `POST /api/runs/:id/signal`. */
export interface SignalRequest {
  readonly name: string;
  /** Any JSON value; becomes the input of the step after the signal wait. */
  readonly payload?: JsonValue;
}

/** Response of every action. */
export interface ActionResult {
  readonly ok: true;
  /** The run's status after the action. */
  readonly status: RunStatus;
  /** False when the action waits for the running run's next step boundary. */
  readonly immediate: boolean;
  readonly message: string;
}

/** Body of `POST /api/session`: the read token (or the action token), exchanged for a session cookie. */
export interface SessionRequest {
  readonly token: string;
}

/** Body of every error response. */
export interface ApiError {
  readonly error: { readonly code: string; readonly message: string };
}

/** Server-sent events: `run` carries a {@link RunDetail}, `runs` a {@link RunsPage}, `problem` an {@link ApiError}. */
export interface StreamEvents {
  readonly run: RunDetail;
  readonly runs: RunsPage;
  readonly problem: ApiError;
}

/** Turns a {@link RunsQuery} into a query string (without "?"), dropping empty fields. */
export function runsQueryString(query: RunsQuery): string {
  const params = new URLSearchParams();
  if (query.status) params.set("status", query.status);
  if (query.workflow) params.set("workflow", query.workflow);
  if (query.cursor) params.set("cursor", query.cursor);
  if (query.limit !== undefined) params.set("limit", String(query.limit));
  return params.toString();
}

/** True when `value` is one of {@link RUN_STATUSES}. */
export function isRunStatus(value: unknown): value is RunStatus {
  return typeof value === "string" && (RUN_STATUSES as readonly string[]).includes(value);
}
