/**
 * Runs the dashboard app as an HTTP server on Node, bound to loopback unless
 * told otherwise.
 */
import type { AddressInfo } from "node:net";
import { createAdaptorServer } from "@hono/node-server";
import { createDashboardApp, type DashboardOptions } from "./app.js";
import { isLoopback, LOOPBACK_HOSTS } from "./guard.js";

export interface ServeOptions extends Omit<DashboardOptions, "allowedHosts"> {
  /** Address to bind (default 127.0.0.1: only this machine can connect). */
  readonly host?: string;
  /** Port to listen on (default 4400; 0 picks a free one). */
  readonly port?: number;
}

/** A dashboard listening for requests. */
export interface RunningDashboard {
  /** Where to open it, e.g. `http://127.0.0.1:4400`. */
  readonly url: string;
  readonly port: number;
  /** Ends live streams and stops listening. The client stays open. */
  close(): Promise<void>;
}

/** Starts the dashboard's HTTP server. @throws the listen error (a port in use, an address not on this machine) */
export async function startDashboard(options: ServeOptions): Promise<RunningDashboard> {
  const host = options.host ?? "127.0.0.1";
  // Bound to loopback, the dashboard also refuses host names other than loopback ones (DNS rebinding).
  const dashboard = createDashboardApp({ ...options, allowedHosts: isLoopback(host) ? LOOPBACK_HOSTS : null });
  const server = createAdaptorServer({ fetch: dashboard.app.fetch });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 4400, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const shownHost = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${port}`,
    port,
    async close() {
      dashboard.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Idle keep-alive sockets would hold `close` open for seconds.
        if ("closeIdleConnections" in server) server.closeIdleConnections();
      });
    },
  };
}
