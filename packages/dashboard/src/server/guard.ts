/**
 * Protection from the obvious: a token on actions and (optionally) another on
 * reads, the API only for the dashboard's own pages, request bodies of bounded
 * size, and (when bound to loopback) only loopback host names, so a page
 * elsewhere cannot reach a local dashboard through DNS rebinding.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
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
 * Lets an API request through only from this dashboard's own pages (or from
 * outside a browser). Browsers mark every cross-site request
 * (`Sec-Fetch-Site`, `Origin`), so another site cannot make a visitor's
 * browser cancel runs, nor make the dashboard read the store for it (an image
 * or an event stream pointed at the API), even when no token is configured.
 * `same-site` is refused too: another port of localhost is the same site.
 */
export function sameOriginGuard(): MiddlewareHandler {
  return async (c, next) => {
    const site = c.req.header("sec-fetch-site");
    if (site !== undefined && site !== "same-origin" && site !== "none") {
      throw new HttpError(403, "CROSS_SITE", "the dashboard's API answers only the dashboard's own pages");
    }
    const origin = c.req.header("origin");
    if (origin !== undefined && originHost(origin) !== new URL(c.req.url).host) {
      throw new HttpError(403, "CROSS_SITE", "the dashboard's API answers only the dashboard's own pages");
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

/** The cookie that carries a read session: an `EventSource` cannot send a header, but sends same-origin cookies. */
export const READ_COOKIE = "parkway_dashboard_read";

/**
 * Who may read (lists, runs, streams). With a read token set, a request needs
 * `Authorization: Bearer <read token or action token>`, or the session cookie
 * that `POST /api/session` sets for either token. The cookie holds an HMAC of
 * the read token, not the token: it proves the token was shown, needs no
 * server memory, survives a restart and dies when the token changes.
 */
export class ReadAccess {
  private readonly tokens: readonly Buffer[];
  private readonly session: string | null;

  constructor(readToken: string | null, actionToken: string | null) {
    this.tokens = readToken === null ? [] : [readToken, actionToken].flatMap((t) => (t === null ? [] : [digest(t)]));
    this.session = readToken === null ? null : createHmac("sha256", readToken).update("parkway-dashboard read session").digest("base64url");
  }

  /** Whether reads need a credential at all. */
  get required(): boolean {
    return this.session !== null;
  }

  /** True when `given` is the read token or the action token (compared as digests, in constant time). */
  accepts(given: string): boolean {
    const d = digest(given);
    // Every token is compared, so the time taken does not tell which one matched.
    return this.tokens.reduce((ok, t) => timingSafeEqual(d, t) || ok, false);
  }

  /** True when the request may read. */
  allows(c: Context): boolean {
    if (this.session === null) return true;
    const bearer = /^Bearer\s+(.+)$/i.exec(c.req.header("authorization") ?? "")?.[1]?.trim();
    if (bearer !== undefined) return this.accepts(bearer);
    const cookie = getCookie(c, READ_COOKIE);
    return cookie !== undefined && timingSafeEqual(digest(cookie), digest(this.session));
  }

  /** Sets the session cookie on the answer `c` (for this dashboard's API only, never sent cross-site, unseen by scripts). */
  open(c: Context): void {
    if (this.session === null) return;
    const secure = new URL(c.req.url).protocol === "https:";
    setCookie(c, READ_COOKIE, this.session, { path: "/api", httpOnly: true, sameSite: "Strict", secure });
  }

  /** Clears the session cookie. */
  close(c: Context): void {
    deleteCookie(c, READ_COOKIE, { path: "/api" });
  }
}

/** Refuses reads without a read credential (when a read token is set). */
export function readGuard(access: ReadAccess): MiddlewareHandler {
  return async (c, next) => {
    if (!access.allows(c)) {
      c.header("WWW-Authenticate", 'Bearer realm="parkway-dashboard"');
      throw new HttpError(401, "UNAUTHORIZED", "reading runs needs the dashboard read token");
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
