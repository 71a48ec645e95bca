/**
 * The host's request listener: the edge steps (edge.ts: request context, access log, security headers, CORS,
 * per-IP rate limit) for every request, then the MCP endpoints directly (fast path) or the Express app: host-level
 * routes (health, metrics, SSE), static files, the Remix app, and one error handler that never leaks a stack trace.
 *
 * Why a fast path: an authenticated MCP `tools/call` is the hottest request, and Express's router (request and
 * response prototypes, middleware chain, route matching) cost ~25 µs of it (bench/mcp.ts, ADR 0010). The OAuth POST
 * endpoints (token, revocation, introspection, registration) take it too, skipping the Fetch/Remix hop as well
 * (oauth-routes.ts, ADR 0014). Exact paths only; every other spelling still reaches the same handlers through Express.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import express, { type NextFunction, type Request, type Response } from "express";
import { sendBadRequest } from "./bad-request.ts";
import { createEdge, type Edge } from "./edge.ts";
import {
  BODY_LIMIT_BYTES,
  BodyTooLargeError,
  ClientGoneError,
  FETCH_FORBIDDEN_METHODS,
  sendFetchResponse,
  toFetchRequest,
} from "./fetch-adapter.ts";
import { healthHandler } from "./health.ts";
import type { HostServices } from "./host-services.ts";
import { BadInputError, toOriginForm } from "./input-guard.ts";
import { mcpHandlers, mountMcp, type McpHandlers } from "./mcp-routes.ts";
import { OAUTH_POST_TARGETS, oauthHandler } from "./oauth-routes.ts";
import { rateLimitByClient } from "./rate-limit-middleware.ts";
import { requestMeta } from "./request-context.ts";
import { originalUrl } from "./request-target.ts";
import { sendJson } from "./send-json.ts";
import type { RemixApp } from "./remix.ts";

export function createHttpApp(services: HostServices, remix: RemixApp): RequestListener {
  const edge = createEdge(services, (path) => remix.routePattern(path));
  const mcp = mcpHandlers(services);
  const app = expressApp(services, remix, edge, mcp);
  /** The edge steps, then `handler`; errors from either get the host's error answer. */
  const serve = (req: IncomingMessage, res: ServerResponse, pattern: string, handler: HostHandler) => {
    edge(
      req,
      res,
      (error) => {
        if (error) sendError(services, error, req, res);
        else handler(req, res).catch((failure: unknown) => sendError(services, failure, req, res));
      },
      pattern,
    );
  };
  const oauth = new Map([...OAUTH_POST_TARGETS].map(([path, name]) => [path, oauthHandler(services, name)]));
  const appHost = new URL(services.env.APP_URL).host;
  return (req, res) => {
    toOriginForm(req, appHost);
    const url = req.url ?? "/";
    const oauthEndpoint = req.method === "POST" ? oauth.get(url) : undefined;
    if (oauthEndpoint) serve(req, res, url, oauthEndpoint);
    else if (url === "/mcp/mcp" || url.startsWith("/mcp/mcp?")) serve(req, res, "/mcp/mcp", mcp.streamable);
    else if (req.method === "POST" && url.startsWith("/mcp/message?")) serve(req, res, "/mcp/message", mcp.message);
    else app(req, res);
  };
}

type HostHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

function expressApp(services: HostServices, remix: RemixApp, edge: Edge, mcp: McpHandlers): express.Express {
  const { env } = services;
  const app = express();
  app.disable("x-powered-by");
  app.disable("etag");
  // One proxy hop is believed only when TRUST_PROXY says so (req.protocol, req.hostname); the client IP is the
  // edge's (request-context.ts), computed the same way.
  app.set("trust proxy", env.TRUST_PROXY ? 1 : false);

  app.use((req, res, next) => {
    edge(req, res, next);
  });

  app.get("/api/health", route("/api/health"), healthHandler(services));
  mountMcp(app, mcp);
  app.all("/api/health", route("/api/health"), methodNotAllowed(["GET", "HEAD"]));
  app.get("/metrics", route("/metrics"), services.analytics.metricsHandler);

  // Fingerprinted build assets are immutable; everything else in public/ may change between deploys. A file served
  // from here is named `/build/*` or `static` in logs and analytics (not `unmatched`).
  app.use(
    "/build",
    express.static("public/build", { immutable: true, maxAge: "1y", index: false, setHeaders: (res) => nameRoute(res, "/build/*") }),
  );
  app.use(express.static("public", { maxAge: "1h", index: false, setHeaders: (res) => nameRoute(res, "static") }));

  app.all("*", async (req, res, next) => {
    if (FETCH_FORBIDDEN_METHODS.has(req.method)) return methodNotAllowed(["GET", "HEAD", "POST"])(req, res);
    try {
      const meta = requestMeta(res);
      // Remix warns `No routes matched location "<path>?<query>"` on the console for an unknown path; a token or
      // code sent to a wrong path must not reach the logs that way, so such a request reaches Remix (for its 404
      // page) without its query string.
      const unmatched = remix.routePattern(req.path) === "unmatched";
      const request = await toFetchRequest(req, res, { origin: originOf(req), bodyLimit: BODY_LIMIT_BYTES, dropQuery: unmatched });
      const response =
        (await rateLimitByClient(services.rateLimits, request, meta)) ?? (await remix.handle(request, { services, meta }));
      await sendFetchResponse(res, response);
    } catch (error) {
      next(error);
    }
  });

  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => sendError(services, error, req, res));
  return app;
}

function nameRoute(res: ServerResponse, pattern: string): void {
  requestMeta(res).route = pattern;
}

/** Names the route pattern of a host-level route for logs and analytics. */
export function route(pattern: string) {
  return (_req: Request, res: Response, next: NextFunction) => {
    requestMeta(res).route = pattern;
    next();
  };
}

/** 405 with `Allow` (RFC 9110 §15.5.6) for a host route called with a method it does not serve. */
export function methodNotAllowed(allowed: string[]) {
  return (_req: IncomingMessage, res: ServerResponse) => {
    sendJson(res, 405, { error: "invalid_request", error_description: "Method not allowed" }, { Allow: allowed.join(", ") });
  };
}

function originOf(req: Request): string {
  // The Host header only routes the request; every URL this server publishes comes from APP_URL.
  const host = req.get("host") ?? "localhost";
  return `${req.protocol}://${/^[A-Za-z0-9.:[\]-]+$/.test(host) ? host : "localhost"}`;
}

/**
 * The one error answer: nothing for a client that went away, 413 for oversize bodies, 400 for hostile or malformed
 * input (in the surface's own form, bad-request.ts), otherwise a logged 500 without details.
 */
function sendError(services: HostServices, error: unknown, req: IncomingMessage, res: ServerResponse): void {
  const meta = requestMeta(res);
  if (error instanceof ClientGoneError) {
    // Not an error of ours: the access log records the request as cut off (499).
    services.log.debug({ requestId: meta?.requestId, path: (req.url ?? "/").split("?")[0] }, "client went away mid-request");
    res.destroy();
    return;
  }
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (error instanceof BodyTooLargeError) {
    sendJson(res, 413, { error: "invalid_request", error_description: "Request body is larger than 1 MB" });
    return;
  }
  if (error instanceof BadInputError) {
    sendBadRequest(res, originalUrl(req), error);
    return;
  }
  if (isClientError(error)) {
    sendBadRequest(res, originalUrl(req), new BadInputError("query", "Malformed request"));
    return;
  }
  services.log.error({ err: error, requestId: meta?.requestId, path: (req.url ?? "/").split("?")[0] }, "unhandled error");
  sendJson(res, 500, { error: "server_error", error_description: "Internal server error", request_id: meta?.requestId });
}

function isClientError(error: unknown): boolean {
  const status = (error as { status?: number; statusCode?: number } | null)?.status ?? (error as { statusCode?: number } | null)?.statusCode;
  return typeof status === "number" && status >= 400 && status < 500;
}
