/**
 * Starting and stopping one server: database (embedded when DATABASE_URL is unset), migrations, services, the
 * Remix build, the HTTP listener, and a graceful shutdown that stops accepting, lets in-flight requests finish,
 * ends long-lived streams, closes the services and finally stops the embedded PostgreSQL.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { ServerBuild } from "@remix-run/node";
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from "../db/embedded.ts";
import { migrate } from "../db/migrate.ts";
import type { Env } from "../env.ts";
import { createLogger, type Logger } from "../logger.ts";
import { createServices, type Services } from "../services.ts";
import { createHttpApp } from "./app.ts";
import { manageConnections, type Connections } from "./connections.ts";
import { loadRemixBuild, mountRemix } from "./remix.ts";

export interface RunningServer {
  url: string;
  port: number;
  services: Services;
  httpServer: http.Server;
  /** Graceful: stop accepting, wait for in-flight requests (up to `graceMs`), close everything. */
  close(graceMs?: number): Promise<void>;
}

export interface StartOptions {
  log?: Logger;
  build?: ServerBuild;
  /** Overrides env.PORT (tests pass 0 for a free port). */
  port?: number;
  host?: string;
  migrate?: boolean;
}

export async function startServer(env: Env, options: StartOptions = {}): Promise<RunningServer> {
  const log = options.log ?? createLogger(env.LOG_LEVEL);
  let embedded: EmbeddedPostgresHandle | undefined;
  let databaseUrl = env.DATABASE_URL;
  if (!databaseUrl) {
    embedded = await startEmbeddedPostgres(env.DATA_DIR, log);
    databaseUrl = embedded.url;
  }
  let services: Services | undefined;
  try {
    if (options.migrate !== false) {
      const applied = await migrate(databaseUrl);
      if (applied.length) log.info({ applied }, "database migrations applied");
    }
    services = await createServices(env, { log, databaseUrl });
    const build = options.build ?? (await loadRemixBuild());
    const remix = mountRemix(build, process.env.REMIX_DEV_ORIGIN ? "development" : "production");
    const app = createHttpApp(services, remix);
    // Slow and idle clients: headers must arrive within HTTP_HEADERS_TIMEOUT_SECONDS of the first byte (a connection
    // that sends nothing counts too) and the whole request within HTTP_REQUEST_TIMEOUT_SECONDS, else 408 and the
    // connection closes (responses, SSE streams included, are not timed). Node checks both every
    // `connectionsCheckingInterval` (default 30 s, which would double a 30 s timeout). Bodies are also bounded by
    // size (fetch-adapter.ts), and connections per address by connections.ts.
    const httpServer = http.createServer(
      {
        keepAliveTimeout: 65_000,
        headersTimeout: env.HTTP_HEADERS_TIMEOUT_SECONDS * 1000,
        requestTimeout: env.HTTP_REQUEST_TIMEOUT_SECONDS * 1000,
        connectionsCheckingInterval: 1000,
      },
      app,
    );
    const { rateLimits, events } = services;
    const connections = manageConnections(httpServer, {
      maxPerIp: env.MAX_CONNECTIONS_PER_IP,
      trustProxy: env.TRUST_PROXY,
      trusted: (ip) => rateLimits.isTrusted(ip),
      log,
      events,
    });

    const port = options.port ?? env.PORT;
    const host = options.host ?? env.HOST;
    await new Promise<void>((resolve, reject) => {
      httpServer.once("error", reject);
      httpServer.listen(port, host, () => resolve());
    });
    const actualPort = (httpServer.address() as AddressInfo).port;
    const running = services;
    let closing: Promise<void> | undefined;
    return {
      url: `http://127.0.0.1:${actualPort}`,
      port: actualPort,
      services: running,
      httpServer,
      close(graceMs = 10_000) {
        closing ??= shutdown(httpServer, connections, running, embedded, graceMs);
        return closing;
      },
    };
  } catch (error) {
    await services?.close();
    await embedded?.stop().catch(() => {});
    throw error;
  }
}

async function shutdown(
  server: http.Server,
  connections: Connections,
  services: Services,
  embedded: EmbeddedPostgresHandle | undefined,
  graceMs: number,
): Promise<void> {
  const { log } = services;
  log.info({ connections: connections.open }, "shutting down: no new connections, finishing in-flight requests");
  // Every connection is closed once it has nothing in flight, after answering a request already on its way
  // (connections.ts); long-lived streams (SSE) end themselves on the shutdown signal.
  const drained = connections.drain();
  services.beginShutdown();
  const timer = setTimeout(() => {
    log.warn({ connections: connections.open }, "shutdown grace period over; closing remaining connections");
    server.closeAllConnections();
  }, graceMs).unref();
  await drained;
  clearTimeout(timer);
  await services.close();
  if (embedded) {
    await embedded.stop().catch((error: unknown) => log.warn({ err: error }, "embedded postgres did not stop cleanly"));
  }
  log.info("shutdown complete");
}
