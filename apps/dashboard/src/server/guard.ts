/**
 * Protection from the obvious: a token on actions, actions only from the
 * dashboard's own pages, request bodies of bounded size, and (when bound to
 * loopback) only loopback host names, so a page elsewhere cannot reach a local
 * dashboard through DNS rebinding.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HttpError } from "./errors.js";

/** Host names a dashboard bound to loopback answers to. */
export const LOOPBACK_HOSTS: readonly string[] = ["127.0.0.1", "localhost", "[::1]", "::1"];

/** True when `host` (a bind address) only accepts connections from this machine. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Rejects requests whose host name is not in `allowed`: a rebound DNS name must not reach a loopback server. */
export function hostGuard(allowed: readonly string[]): MiddlewareHandler {
  const names = new Set(allowed.map((h) => h.toLowerCase()));
  return async (c, next) => {
    const hostname = new URL(c.req.url).hostname.toLowerCase();
    if (!names.has(hostname)) throw new HttpError(403, "FORBIDDEN_HOST", `this dashboard does not answer to host "${hostname}"`);
    await next();
  };
}

/**
 * Lets an action through only from this dashboard's own pages. Browsers mark
 * every cross-site request (`Sec-Fetch-Site`, `Origin`), so another site cannot
 * make a visitor's browser cancel runs, even when no token is configured.
 */
export function sameOriginGuard(): MiddlewareHandler {
  return async (c, next) => {
    const site = c.req.header("sec-fetch-site");
    if (site !== undefined && site !== "same-origin" && site !== "none") {
      throw new HttpError(403, "CROSS_SITE", "actions are accepted only from the dashboard's own pages");
    }
    const origin = c.req.header("origin");
    if (origin !== undefined && originHost(origin) !== new URL(c.req.url).host) {
      throw new HttpError(403, "CROSS_SITE", "actions are accepted only from the dashboard's own pages");
    }
    await next();
  };
}

function originHost(origin: string): string | null {
  try {
    return new URL(origin).host;
  } catch {
    return null;
  }
}

/** Requires `Authorization: Bearer <token>` when a token is configured; a null token lets every request through. */
export function tokenGuard(token: string | null): MiddlewareHandler {
  const expected = token === null ? null : digest(token);
  return async (c, next) => {
    if (expected !== null) {
      const given = /^Bearer\s+(.+)$/i.exec(c.req.header("authorization") ?? "")?.[1]?.trim();
      // Compared as fixed-length digests in constant time, so the answer's timing tells nothing about the token.
      if (given === undefined || !timingSafeEqual(digest(given), expected)) {
        c.header("WWW-Authenticate", 'Bearer realm="parkway-dashboard"');
        throw new HttpError(
          401,
          "UNAUTHORIZED",
          given === undefined ? "this action needs the dashboard token" : "the dashboard token is wrong",
        );
      }
    }
    await next();
  };
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

/** Answers 413 for a body over `maxBytes`, before it is read whole. */
export function sizeGuard(maxBytes: number): MiddlewareHandler {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new HttpError(413, "PAYLOAD_TOO_LARGE", `the request body is larger than ${maxBytes} bytes`);
    },
  });
}
