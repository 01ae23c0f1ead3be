/**
 * The dashboard's HTTP API: every path, request and response shape, imported by
 * the server (which produces them) and by the front end (which consumes them),
 * so the two cannot drift apart. Values inside (step outputs, inputs, payloads)
 * are made JSON-safe by the server before they are sent.
 */
import type {
  BranchView,
  ListOrder,
  RunEvent,
  RunLink,
  RunStatus,
  RunWarning,
  ScheduleView,
  SerializedError,
  StepDetail,
  StepNodeView,
  StepState,
  StepView as CoreStepView,
  Wait,
  WorkerInfo,
} from "@parkway/core";

export type {
  BranchView,
  ListOrder,
  RunEvent,
  RunLink,
  RunStatus,
  RunWarning,
  ScheduleView,
  SerializedError,
  StepDetail,
  StepNodeView,
  StepState,
  Wait,
  WorkerInfo,
};

/** A committed step as the flat list sends it: core's `StepView` without its timing (`StepTiming`), which the dashboard does not send yet. */
export type StepView = Pick<CoreStepView, "key" | "attempts" | "output">;

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
 * A run or schedule id as one URL path segment. `encodeURIComponent` leaves `.` alone, and
 * URL parsers treat the segments `.` and `..` (even spelled `%2E`) as "this
 * folder" and "the parent", so the ids `.` and `..` are sent as `~.` and `~..`;
 * an id that already looks like that (`~.`, `~~..`) gets one more `~`, so every
 * id has exactly one spelling and {@link decodeRunId} undoes it.
 */
export function encodeRunId(id: string): string {
  return /^~*\.{1,2}$/.test(id) ? `~${id}` : encodeURIComponent(id);
}

/** The run or schedule id a path segment names (already percent-decoded, as routers hand it over). */
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
  workers: "/api/workers",
  workersStream: "/api/workers-stream",
  schedules: "/api/schedules",
  schedulesStream: "/api/schedules-stream",
  scheduleAction: (id: string, action: ScheduleAction) => `/api/schedules/${encodeRunId(id)}/${action}`,
} as const;

/** What can be done to a run from the dashboard. */
export type RunAction = "signal" | "cancel" | "pause" | "resume" | "retry" | "rewind" | "delete";

/** Every run action, each a `POST` of {@link paths}.action. */
export const RUN_ACTIONS = ["signal", "cancel", "pause", "resume", "retry", "rewind", "delete"] as const satisfies readonly RunAction[];

/** What can be done to a schedule from the dashboard. */
export type ScheduleAction = "pause" | "resume" | "trigger";

/** Every schedule action, each a `POST` of {@link paths}.scheduleAction. */
export const SCHEDULE_ACTIONS = ["pause", "resume", "trigger"] as const satisfies readonly ScheduleAction[];

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

/** Query of `GET /api/runs` and `GET /api/runs-stream`: the options of `client.list`. */
export interface RunsQuery {
  readonly status?: RunStatus;
  readonly workflow?: string;
  /** Only runs whose id starts with this. */
  readonly idPrefix?: string;
  /** Only runs created at or after this (ms since the epoch; an ISO 8601 time in the URL). */
  readonly createdAfter?: number;
  /** Only runs created before this (ms since the epoch; an ISO 8601 time in the URL). */
  readonly createdBefore?: number;
  /** Only runs that finished at or after this (ms since the epoch; an ISO 8601 time in the URL); lists runs by when they finished. */
  readonly finishedAfter?: number;
  /** Only runs that finished before this (ms since the epoch; an ISO 8601 time in the URL). */
  readonly finishedBefore?: number;
  /** `newest` first (the default) or `oldest` first. */
  readonly order?: ListOrder;
  readonly cursor?: string;
  readonly limit?: number;
}

/** The URL parameters of {@link RunsQuery}, in the order {@link runsQueryString} writes them. */
export const RUNS_QUERY_PARAMS = [
  "status",
  "workflow",
  "idPrefix",
  "createdAfter",
  "createdBefore",
  "finishedAfter",
  "finishedBefore",
  "order",
  "cursor",
  "limit",
] as const satisfies readonly (keyof RunsQuery)[];

/** The parameters of {@link RunsQuery} that are times: ms since the epoch in the query, ISO 8601 in the URL. */
export const RUNS_QUERY_TIMES = [
  "createdAfter",
  "createdBefore",
  "finishedAfter",
  "finishedBefore",
] as const satisfies readonly (keyof RunsQuery)[];

/** One row of the runs list. */
export interface RunRow {
  readonly id: string;
  readonly workflow: string;
  readonly status: RunStatus;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** When the run finished; null while it is live. */
  readonly finishedAt: number | null;
  readonly dueAt: number | null;
  readonly error: SerializedError | null;
}

/** `GET /api/runs`: one page of runs in the query's order, with counts per status (for the same workflow filter). */
export interface RunsPage {
  /**
   * At most `limit` runs. With `idPrefix` a page may hold fewer, even none, and still have a
   * cursor: the store looks at a bounded number of runs per page.
   */
  readonly runs: readonly RunRow[];
  /** Pass back as `cursor` (with the same query) for the next page; null on the last page. */
  readonly cursor: string | null;
  /**
   * Runs per status, exact, read from the store's status indexes: of the query's workflow (or of
   * every workflow), whatever its other filters.
   */
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

/** A step's latest heartbeat (`ctx.heartbeat(details)`). */
export interface ProgressShown {
  readonly details: JsonValue;
  /** When it was recorded (store time, ms since the epoch). */
  readonly at: number;
}

/** A compensation of a failed run: whether the step committed under `key` was undone. */
export interface CompensationShown {
  /** The commit key of the step the compensation undoes. */
  readonly key: string;
  readonly compensated: boolean;
  /** Why it could not undo the step, after its attempts. */
  readonly error: SerializedError | null;
}

/** A signal sent to the run and not taken yet: core's `BufferedSignalView` with its payload made JSON-safe. */
export interface BufferedSignalShown {
  readonly name: string;
  /** When it was sent; null when the run's history no longer holds it. */
  readonly sentAt: number | null;
  /** The size of its encoded payload. */
  readonly bytes: number;
  /** Its payload; absent when too large to show (or when it does not decode). */
  readonly payload?: JsonValue;
}

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
  /** When the run finished; null while it is live. */
  readonly finishedAt: number | null;
  readonly definition: DefinitionState;
  /** The tree from `describeRun`, when the definition is loaded. */
  readonly tree: readonly StepNodeView[] | null;
  /** Every committed step, flat: the fallback view without a definition. */
  readonly steps: readonly StepView[];
  /** Signal names the run's workflow waits for (empty without a definition). */
  readonly signals: readonly string[];
  /** What the status alone does not say, e.g. that no live worker registers the run's workflow. */
  readonly warnings: readonly RunWarning[];
  /** The run and step that started this run as a child run, or null. */
  readonly parent: RunLink | null;
  /** The child runs this run started: each child step's commit key and the child's id. */
  readonly children: readonly { readonly key: string; readonly id: string }[];
  /** The latest heartbeat of every step that sent one, by commit key (running steps included). */
  readonly progress: { readonly [key: string]: ProgressShown };
  /** A failed run's compensations that ran, in commit order. */
  readonly compensations: readonly CompensationShown[];
  /** The signals sent to the run and not taken yet: the oldest few one by one, and how many in all and under each name. */
  readonly buffered: {
    readonly signals: readonly BufferedSignalShown[];
    readonly total: number;
    readonly byName: { readonly [name: string]: number };
  };
  /** The run's history (`client.history`): its last events, oldest first, each with its store time. */
  readonly history: readonly RunEvent[];
  /**
   * Commit keys the run can be rewound to (its committed steps, less Parkway's own keys), in
   * commit order; empty without the run's definition, which a rewind needs.
   */
  readonly rewindTargets: readonly string[];
}

/** Body of `POST /api/runs/:id/rewind`. */
export interface RewindRequest {
  /** The commit key of a committed step: it and everything that depends on it run again. */
  readonly to: string;
}

/** Body of `POST /api/runs/:id/signal`. */
export interface SignalRequest {
  readonly name: string;
  /** Any JSON value; becomes the input of the step after the signal wait. */
  readonly payload?: JsonValue;
}

/** Response of every run action. */
export interface ActionResult {
  readonly ok: true;
  /** The run's status after the action; null once it is deleted. */
  readonly status: RunStatus | null;
  /** False when the action waits for the running run's next step boundary. */
  readonly immediate: boolean;
  readonly message: string;
}

/** `GET /api/workers`: the live workers, oldest first. */
export interface WorkersView {
  readonly workers: readonly WorkerInfo[];
}

/** Query of `GET /api/schedules` and `GET /api/schedules-stream`. */
export interface SchedulesQuery {
  /** From a previous page: the schedules after this id. */
  readonly cursor?: string;
  readonly limit?: number;
}

/** One schedule: what `client.schedules.list` shows, with its input JSON-safe and its next few ticks. */
export type ScheduleRow = Omit<ScheduleView, "input" | "nextTickAt"> & {
  readonly input: JsonValue;
  /** The next ticks, soonest first (ms since the epoch): empty while paused or when the expression has no more. */
  readonly nextTicks: readonly number[];
};

/** `GET /api/schedules`: a page of schedules in id order. */
export interface SchedulesPage {
  readonly schedules: readonly ScheduleRow[];
  /** Pass back as `cursor` for the next page; null on the last page. */
  readonly cursor: string | null;
}

/** Response of every schedule action. */
export interface ScheduleActionResult {
  readonly ok: true;
  /** The schedule after the action. */
  readonly schedule: ScheduleRow;
  /** The run a trigger started; null for the other actions. */
  readonly run: string | null;
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

/** Server-sent events: each names what it carries; `problem` carries an {@link ApiError}. */
export interface StreamEvents {
  readonly run: RunDetail;
  readonly runs: RunsPage;
  readonly workers: WorkersView;
  readonly schedules: SchedulesPage;
  readonly problem: ApiError;
}

/** The events a live stream is about (every one but `problem`). */
export type LiveEventName = Exclude<keyof StreamEvents, "problem">;

/** Turns a {@link RunsQuery} into a query string (without "?"), dropping empty fields; times are written as ISO 8601. */
export function runsQueryString(query: RunsQuery): string {
  const params = new URLSearchParams();
  for (const name of RUNS_QUERY_PARAMS) {
    const value = query[name];
    if (value === undefined || value === "") continue;
    const time = (RUNS_QUERY_TIMES as readonly string[]).includes(name);
    params.set(name, time ? new Date(value).toISOString() : String(value));
  }
  return params.toString();
}

/** Turns a {@link SchedulesQuery} into a query string (without "?"), dropping empty fields. */
export function schedulesQueryString(query: SchedulesQuery): string {
  const params = new URLSearchParams();
  if (query.cursor) params.set("cursor", query.cursor);
  if (query.limit !== undefined) params.set("limit", String(query.limit));
  return params.toString();
}

/** True when `value` is one of {@link RUN_STATUSES}. */
export function isRunStatus(value: unknown): value is RunStatus {
  return typeof value === "string" && (RUN_STATUSES as readonly string[]).includes(value);
}
