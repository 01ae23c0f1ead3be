/**
 * A worker's health endpoints, for orchestrators (Kubernetes probes, Docker
 * healthchecks, load balancers). Plain `node:http`, nothing else:
 *
 * - `GET /healthz`: 200 while the process lives (a liveness probe must not
 *   restart a worker only because Redis is away: it recovers on its own).
 * - `GET /readyz`: 200 when Redis answers and the worker consumes wake-ups,
 *   else 503 with `{ "ready": false, "reason": "..." }`.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ValidationError } from "@parkway/core";
import type { Readiness } from "./worker.js";

/** What the health server asks: a `WorkflowWorker`, or anything that can say whether it is ready. */
export interface HealthSource {
  readiness(): Promise<Readiness>;
}

/** A listening health server. */
export interface HealthServer {
  /** The port it listens on (the one given, or the one the system chose for port 0). */
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Serves `/healthz` and `/readyz` for `source` on `port` (0: any free port).
 * @throws ValidationError for a port that is not an integer from 0 to 65535
 */
export async function startHealthServer(
  source: HealthSource,
  options: { readonly port: number; readonly host?: string },
): Promise<HealthServer> {
  const { port, host } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new ValidationError(`health port must be an integer from 0 to 65535, got ${String(port)}`);
  }
  const server: Server = createServer((request, response) => {
    const reply = (status: number, body: object) => {
      response.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
      response.end(JSON.stringify(body));
    };
    const path = (request.url ?? "/").split("?")[0];
    if (request.method !== "GET" && request.method !== "HEAD") return reply(405, { error: "use GET" });
    if (path === "/healthz") return reply(200, { live: true });
    if (path === "/readyz") {
      source.readiness().then(
        (readiness) => reply(readiness.ready ? 200 : 503, readiness),
        (error: unknown) => reply(503, { ready: false, reason: error instanceof Error ? error.message : String(error) }),
      );
      return;
    }
    reply(404, { error: "not found: GET /healthz or /readyz" });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  // Probes keep connections open; unref so the health server alone never keeps a process alive.
  server.unref();
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
