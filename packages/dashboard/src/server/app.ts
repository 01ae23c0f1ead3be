/**
 * The dashboard's HTTP app: the JSON API, server-sent event streams and the
 * built front end, over any `DurableClient` (a `ParkwayClient` on Redis, or an
 * embedded engine). Runs on Node through `@hono/node-server` (see `serve.ts`),
 * and answers `app.request()` directly in tests.
 */
import type { IncomingMessage } from "node:http";
import { serveStatic } from "@hono/node-server/serve-static";
import { ValidationError, type DurableClient, type Workflow } from "@parkway/core";
import { Hono, type Context } from "hono";
import { secureHeaders } from "hono/secure-headers";
import {
  decodeRunId,
  MAX_BODY_BYTES,
  RUN_ACTIONS,
  runsQueryString,
  SCHEDULE_ACTIONS,
  schedulesQueryString,
  type DashboardMeta,
  type WorkersView,
} from "../shared/api.js";
import { ACTIONS_WITH_BODY, parseBody, performAction } from "./actions.js";
import { errorResponse, HttpError } from "./errors.js";
import { hostGuard, readGuard, ReadAccess, sameOriginGuard, sizeGuard, tokenGuard } from "./guard.js";
import { LiveHub } from "./live.js";
import { parseRunsQuery, parseSchedulesQuery } from "./queries.js";
import { RunReader } from "./runs.js";
import { performScheduleAction, schedulesPage } from "./schedules.js";
import { DEFAULT_STREAM_LIMITS, StreamSet, type StreamLimits } from "./stream.js";

export interface DashboardOptions {
  /** The client the dashboard reads and acts through. Not closed by the dashboard. */
  readonly client: DurableClient;
  /** Definitions to draw runs as trees with; runs of other workflows show their committed steps only. */
  readonly workflows?: readonly Workflow<never, unknown>[];
  readonly engine: "redis" | "embedded";
  readonly namespace?: string | null;
  /** When set, actions need `Authorization: Bearer <token>`. */
  readonly token?: string | null;
  /**
   * When set, reads (lists, runs, streams) need it too: as a bearer token, or
   * as the session cookie `POST /api/session` sets (an `EventSource` cannot send
   * headers). The action token is accepted for reads as well. Unset, anyone
   * who can reach the dashboard reads runs (cross-site pages still cannot).
   */
  readonly readToken?: string | null;
  /** Bounds on open live streams, per client address and in all; beyond them a stream gets 429. */
  readonly streamLimits?: Partial<StreamLimits>;
  /** The built front end's folder; null serves the API only. */
  readonly webRoot?: string | null;
  /** Host names requests may name; null accepts any (set when bound beyond loopback). */
  readonly allowedHosts?: readonly string[] | null;
  /** How often a watched run is read for live updates (default 250ms); lists (runs, workers, schedules) are read 4 times less often. */
  readonly pollIntervalMs?: number;
  /** Where unexpected errors are reported (default console.error). */
  readonly log?: (message: string, error: unknown) => void;
}

/** A dashboard app and what must be stopped with it. */
export interface Dashboard {
  readonly app: Hono;
  /** Ends live streams and their polls. The client stays open. */
  close(): void;
}

/** Builds the dashboard's HTTP app. */
export function createDashboardApp(options: DashboardOptions): Dashboard {
  const { client } = options;
  const log = options.log ?? ((message, error) => console.error(message, error));
  const reader = new RunReader(client, options.workflows ?? []);
  const hub = new LiveHub((error) => log("parkway-dashboard: reading a watched run failed:", error));
  const streams = new StreamSet(streamLimits(options.streamLimits));
  const access = new ReadAccess(options.readToken || null, options.token || null);
  const reads = readGuard(access);
  const pollMs = options.pollIntervalMs ?? 250;
  const app = new Hono();

  app.onError((error, c) => {
    const { status, body, unexpected } = errorResponse(error);
    if (unexpected) log(`parkway-dashboard: ${c.req.method} ${c.req.path} failed:`, error);
    return c.json(body, status);
  });
  if (options.allowedHosts) app.use("*", hostGuard(options.allowedHosts));
  app.use(
    "*",
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", "data:"],
        connectSrc: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
      },
    }),
  );

  // Every API request, reads and streams included, only from the dashboard's own pages.
  app.use("/api/*", sameOriginGuard());
  app.get("/api/meta", (c) => {
    const meta: DashboardMeta = {
      engine: options.engine,
      namespace: options.namespace ?? null,
      tokenRequired: Boolean(options.token),
      readTokenRequired: access.required,
      readAuthorized: access.allows(c),
      workflows: reader.workflows(),
      maxBodyBytes: MAX_BODY_BYTES,
    };
    return c.json(meta);
  });
  app.post("/api/session", sizeGuard(MAX_BODY_BYTES), async (c) => {
    const given = parseSessionRequest(await c.req.text());
    if (access.required && !access.accepts(given)) throw new HttpError(401, "UNAUTHORIZED", "the dashboard token is wrong");
    access.open(c);
    return c.json({ ok: true });
  });
  app.delete("/api/session", (c) => {
    access.close(c);
    return c.json({ ok: true });
  });
  const listMs = pollMs * 4;
  app.get("/api/runs", reads, async (c) => c.json(await reader.page(parseRunsQuery(new URL(c.req.url).searchParams))));
  app.get("/api/runs-stream", reads, (c) => {
    const query = parseRunsQuery(new URL(c.req.url).searchParams);
    return streams.respond(c, clientAddress(c), hub, `runs?${runsQueryString(query)}`, "runs", () => reader.page(query), listMs);
  });
  app.get("/api/runs/:id", reads, async (c) => c.json(await reader.detail(decodeRunId(c.req.param("id")))));
  app.get("/api/runs/:id/stream", reads, (c) => {
    const id = decodeRunId(c.req.param("id"));
    return streams.respond(c, clientAddress(c), hub, `run:${id}`, "run", () => reader.detail(id), pollMs);
  });
  // The registry holds one small entry per live worker: a read is O(workers), whatever the runs.
  const workers = async (): Promise<WorkersView> => ({ workers: await client.workers() });
  app.get("/api/workers", reads, async (c) => c.json(await workers()));
  app.get("/api/workers-stream", reads, (c) => streams.respond(c, clientAddress(c), hub, "workers", "workers", workers, listMs));
  app.get("/api/schedules", reads, async (c) => c.json(await schedulesPage(client, parseSchedulesQuery(new URL(c.req.url).searchParams))));
  app.get("/api/schedules-stream", reads, (c) => {
    const query = parseSchedulesQuery(new URL(c.req.url).searchParams);
    const key = `schedules?${schedulesQueryString(query)}`;
    return streams.respond(c, clientAddress(c), hub, key, "schedules", () => schedulesPage(client, query), listMs);
  });

  const guards = [reads, tokenGuard(options.token || null), sizeGuard(MAX_BODY_BYTES)] as const;
  for (const action of RUN_ACTIONS) {
    app.post(`/api/runs/:id/${action}`, ...guards, async (c) => {
      if (ACTIONS_WITH_BODY.includes(action)) requireJson(c, action);
      const id = decodeRunId(c.req.param("id"));
      const result = await performAction(client, reader, id, action, await c.req.text());
      // Watchers of the run and of the lists see the change now, not after a backed-off poll.
      hub.wake(`run:${id}`);
      hub.wakeAll("runs?");
      return c.json(result);
    });
  }
  for (const action of SCHEDULE_ACTIONS) {
    app.post(`/api/schedules/:id/${action}`, ...guards, async (c) => {
      parseBody(await c.req.text(), [], "{}");
      const result = await performScheduleAction(client, decodeRunId(c.req.param("id")), action);
      hub.wakeAll("schedules?");
      if (result.run !== null) hub.wakeAll("runs?");
      return c.json(result);
    });
  }
  app.all("/api/*", () => {
    throw new HttpError(404, "NOT_FOUND", "no such API route");
  });

  if (options.webRoot) {
    const root = options.webRoot;
    // Vite names built assets by content hash, so a browser may keep them forever.
    app.use("/assets/*", async (c, next) => {
      await next();
      if (c.res.ok) c.header("Cache-Control", "public, max-age=31536000, immutable");
    });
    // Source maps are not served: they would hand out the front end's source, and pages never need them.
    app.use("*", async (c, next) => (c.req.path.endsWith(".map") ? c.notFound() : next()));
    app.use("*", serveStatic({ root }));
    // Every other page is the single-page app, which routes on the client; a missing asset stays a 404.
    app.get("*", async (c, next) => (c.req.path.startsWith("/assets/") ? c.notFound() : next()), serveStatic({ root, path: "index.html" }));
  }

  return {
    app,
    close() {
      streams.closeAll();
      hub.close();
    },
  };
}

/** The stream limits with defaults filled in. @throws ValidationError for a limit that is not a positive integer */
function streamLimits(given: Partial<StreamLimits> = {}): StreamLimits {
  const limits = { ...DEFAULT_STREAM_LIMITS, ...given };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isInteger(value) || value < 1) {
      throw new ValidationError(`streamLimits.${name} must be a positive integer, got ${String(value)}`);
    }
  }
  return limits;
}

/** @throws HttpError 415 unless the request says its body is JSON */
function requireJson(c: Context, action: string): void {
  if (!/^application\/json\b/i.test(c.req.header("content-type") ?? "")) {
    throw new HttpError(415, "UNSUPPORTED_MEDIA_TYPE", `send the ${action} request as Content-Type: application/json`);
  }
}

/** The remote address a request came from ("local" for requests that did not come over a socket, as in tests). */
function clientAddress(c: Context): string {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  return incoming?.socket.remoteAddress ?? "local";
}

/** Reads the body of `POST /api/session`: `{ "token": "..." }`. @throws HttpError 400 naming what is wrong */
function parseSessionRequest(text: string): string {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new HttpError(400, "INVALID_JSON", "the request body is not valid JSON");
  }
  const token = (body as { token?: unknown } | null)?.token;
  if (typeof token !== "string" || token === "" || Object.keys(body as object).length !== 1) {
    throw new HttpError(400, "VALIDATION", 'the request body must be { "token": "<dashboard token>" }');
  }
  return token;
}
