/**
 * The dashboard's HTTP app: the JSON API, server-sent event streams and the
 * built front end, over any `DurableClient` (a `ParkwayClient` on Redis, or an
 * embedded engine). Runs on Node through `@hono/node-server` (see `serve.ts`),
 * and answers `app.request()` directly in tests.
 */
import { serveStatic } from "@hono/node-server/serve-static";
import type { DurableClient, Workflow } from "@parkway/core";
import { Hono } from "hono";
import { secureHeaders } from "hono/secure-headers";
import { MAX_BODY_BYTES, runsQueryString, type DashboardMeta, type RunAction } from "../shared/api.js";
import { performAction } from "./actions.js";
import { errorResponse, HttpError } from "./errors.js";
import { hostGuard, sameOriginGuard, sizeGuard, tokenGuard } from "./guard.js";
import { LiveHub } from "./live.js";
import { parseRunsQuery, RunReader } from "./runs.js";
import { StreamSet } from "./stream.js";

export interface DashboardOptions {
  /** The client the dashboard reads and acts through. Not closed by the dashboard. */
  readonly client: DurableClient;
  /** Definitions to draw runs as trees with; runs of other workflows show their committed steps only. */
  readonly workflows?: readonly Workflow<never, unknown>[];
  readonly engine: "redis" | "embedded";
  readonly namespace?: string | null;
  /** When set, actions need `Authorization: Bearer <token>`. */
  readonly token?: string | null;
  /** The built front end's folder; null serves the API only. */
  readonly webRoot?: string | null;
  /** Host names requests may name; null accepts any (set when bound beyond loopback). */
  readonly allowedHosts?: readonly string[] | null;
  /** How often a watched run is read for live updates (default 250ms); the runs list is read 4 times less often. */
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

const ACTIONS: readonly RunAction[] = ["signal", "cancel", "pause", "resume"];

/** Builds the dashboard's HTTP app. */
export function createDashboardApp(options: DashboardOptions): Dashboard {
  const { client } = options;
  const log = options.log ?? ((message, error) => console.error(message, error));
  const reader = new RunReader(client, options.workflows ?? []);
  const hub = new LiveHub((error) => log("parkway-dashboard: reading a watched run failed:", error));
  const streams = new StreamSet();
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

  app.get("/api/meta", (c) => {
    const meta: DashboardMeta = {
      engine: options.engine,
      namespace: options.namespace ?? null,
      tokenRequired: Boolean(options.token),
      workflows: reader.workflows(),
      maxBodyBytes: MAX_BODY_BYTES,
    };
    return c.json(meta);
  });
  app.get("/api/runs", async (c) => c.json(await reader.page(parseRunsQuery(new URL(c.req.url).searchParams))));
  app.get("/api/runs-stream", (c) => {
    const query = parseRunsQuery(new URL(c.req.url).searchParams);
    return streams.respond(c, hub, `runs?${runsQueryString(query)}`, "runs", () => reader.page(query), pollMs * 4);
  });
  app.get("/api/runs/:id", async (c) => c.json(await reader.detail(c.req.param("id"))));
  app.get("/api/runs/:id/stream", (c) => {
    const id = c.req.param("id");
    return streams.respond(c, hub, `run:${id}`, "run", () => reader.detail(id), pollMs);
  });

  const guards = [sameOriginGuard(), tokenGuard(options.token || null), sizeGuard(MAX_BODY_BYTES)] as const;
  for (const action of ACTIONS) {
    app.post(`/api/runs/:id/${action}`, ...guards, async (c) => {
      if (action === "signal" && !/^application\/json\b/i.test(c.req.header("content-type") ?? "")) {
        throw new HttpError(415, "UNSUPPORTED_MEDIA_TYPE", "send the signal as Content-Type: application/json");
      }
      return c.json(await performAction(client, reader, c.req.param("id"), action, await c.req.text()));
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
