/**
 * The front end's side of the API: typed fetches and live streams over the
 * shapes in `shared/api.ts`, and the action token kept for this browser tab.
 */
import { useEffect, useState } from "preact/hooks";
import {
  paths,
  runsQueryString,
  schedulesQueryString,
  type ActionResult,
  type ApiError,
  type DashboardMeta,
  type LiveEventName,
  type RewindRequest,
  type RunAction,
  type RunsQuery,
  type ScheduleAction,
  type ScheduleActionResult,
  type SchedulesQuery,
  type SessionRequest,
  type SignalRequest,
  type StreamEvents,
} from "../shared/api.js";

const TOKEN_KEY = "parkway-dashboard-token";
const tokenListeners = new Set<() => void>();

/** The action token of this tab (sessionStorage: gone when the tab closes). Every `useToken` hears changes. */
export const token = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (value: string): void => {
    sessionStorage.setItem(TOKEN_KEY, value);
    for (const listener of tokenListeners) listener();
  },
  clear: (): void => {
    sessionStorage.removeItem(TOKEN_KEY);
    for (const listener of tokenListeners) listener();
  },
};

/** Whether this tab holds a token; re-renders when it is set or forgotten anywhere on the page. */
export function useHasToken(): boolean {
  const [has, setHas] = useState(() => token.get() !== null);
  useEffect(() => {
    const listener = () => setHas(token.get() !== null);
    tokenListeners.add(listener);
    return () => void tokenListeners.delete(listener);
  }, []);
  return has;
}

/** An error answer of the API, with its HTTP status and code. */
export class ApiRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function answer<T>(response: Response): Promise<T> {
  const body = (await response.json().catch(() => null)) as T | ApiError | null;
  if (response.ok) return body as T;
  const error = (body as ApiError | null)?.error;
  throw new ApiRequestError(response.status, error?.code ?? "HTTP", error?.message ?? `the server answered ${response.status}`);
}

/** `GET /api/meta`. */
export async function fetchMeta(): Promise<DashboardMeta> {
  return answer<DashboardMeta>(await fetch(paths.meta));
}

/** Shows the read token to the server, which answers with a session cookie that reads and streams carry from then on. */
export async function openSession(given: string): Promise<void> {
  const response = await fetch(paths.session, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ token: given } satisfies SessionRequest),
  });
  await answer<{ ok: true }>(response);
}

/** Forgets the read session (the cookie is HttpOnly: only the server can clear it). */
export async function closeSession(): Promise<void> {
  await answer<{ ok: true }>(await fetch(paths.session, { method: "DELETE" }));
}

/** The body each run action takes: a signal its name and payload, a rewind its step; the others none. */
export type ActionBody<A extends RunAction> = A extends "signal" ? SignalRequest : A extends "rewind" ? RewindRequest : undefined;

/** Runs `action` on run `id`, with the tab's token when it has one. @throws ApiRequestError (401: the token is missing or wrong) */
export async function postAction<A extends RunAction>(id: string, action: A, body?: ActionBody<A>): Promise<ActionResult> {
  return post<ActionResult>(paths.action(id, action), body ?? {});
}

/** Pauses, resumes or triggers schedule `id`, with the tab's token when it has one. @throws ApiRequestError */
export async function postScheduleAction(id: string, action: ScheduleAction): Promise<ScheduleActionResult> {
  return post<ScheduleActionResult>(paths.scheduleAction(id, action), {});
}

async function post<T>(path: string, body: object): Promise<T> {
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  const saved = token.get();
  if (saved) headers.Authorization = `Bearer ${saved}`;
  return answer<T>(await fetch(path, { method: "POST", headers, body: JSON.stringify(body) }));
}

/** What a live stream has delivered so far. */
export interface Live<T> {
  readonly data: T | null;
  readonly problem: string | null;
  /** The stream is open (false while the browser reconnects). */
  readonly connected: boolean;
}

/** Follows a server-sent event stream of `event`s; reconnects by itself when the connection drops. */
export function useLive<E extends LiveEventName>(url: string, event: E): Live<StreamEvents[E]> {
  const [state, setState] = useState<Live<StreamEvents[E]>>({ data: null, problem: null, connected: false });
  useEffect(() => {
    setState({ data: null, problem: null, connected: false });
    const source = new EventSource(url);
    source.addEventListener("open", () => setState((s) => ({ ...s, connected: true })));
    source.addEventListener("error", () => setState((s) => ({ ...s, connected: false })));
    source.addEventListener(event, (e) => {
      const data = JSON.parse((e as MessageEvent<string>).data) as StreamEvents[E];
      setState({ data, problem: null, connected: true });
    });
    source.addEventListener("problem", (e) => {
      const { error } = JSON.parse((e as MessageEvent<string>).data) as ApiError;
      setState((s) => ({ ...s, problem: error.message, connected: true }));
    });
    return () => source.close();
  }, [url, event]);
  return state;
}

/** The stream URL of a runs list query. */
export function runsStreamUrl(query: RunsQuery): string {
  const qs = runsQueryString(query);
  return qs ? `${paths.runsStream}?${qs}` : paths.runsStream;
}

/** The stream URL of a schedules list query. */
export function schedulesStreamUrl(query: SchedulesQuery): string {
  const qs = schedulesQueryString(query);
  return qs ? `${paths.schedulesStream}?${qs}` : paths.schedulesStream;
}
