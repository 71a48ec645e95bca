/**
 * The Express host: request context, access log, security headers, host-level routes (health, metrics, SSE), the
 * Remix app, and one error handler that never leaks a stack trace.
 */
import express, { type NextFunction, type Request, type Response } from "express";
import type { Services } from "../services.ts";
import { BodyTooLargeError, sendFetchResponse, toFetchRequest } from "./fetch-adapter.ts";
import { healthHandler } from "./health.ts";
import { requestContext, requestMeta } from "./request-context.ts";
import type { RemixApp } from "./remix.ts";
import { securityHeaders } from "./security-headers.ts";
import { accessLog } from "./access-log.ts";
import { cors } from "./cors.ts";
import { rateLimitByClient, rateLimitByIp } from "./rate-limit-middleware.ts";
import { mountMcp } from "./mcp-routes.ts";

export const BODY_LIMIT_BYTES = 1024 * 1024;
const FETCH_FORBIDDEN_METHODS = new Set(["CONNECT", "TRACE", "TRACK"]);

export function createHttpApp(services: Services, remix: RemixApp): express.Express {
  const { env } = services;
  const app = express();
  app.disable("x-powered-by");
  app.disable("etag");
  // One proxy hop is believed only when TRUST_PROXY says so; otherwise X-Forwarded-For is ignored.
  app.set("trust proxy", env.TRUST_PROXY ? 1 : false);

  app.use(requestContext());
  app.use(accessLog(services, (req) => remix.routePattern(req.path)));
  app.use(securityHeaders(env));
  app.use(cors(env));
  app.use(rateLimitByIp(services.rateLimits));

  app.get("/api/health", route("/api/health"), healthHandler(services));
  mountMcp(app, services);
  app.all("/api/health", route("/api/health"), methodNotAllowed(["GET", "HEAD"]));
  app.get("/metrics", route("/metrics"), services.analytics.metricsHandler);

  // Fingerprinted build assets are immutable; everything else in public/ may change between deploys.
  app.use("/build", express.static("public/build", { immutable: true, maxAge: "1y", index: false }));
  app.use(express.static("public", { maxAge: "1h", index: false }));

  app.all("*", async (req, res, next) => {
    // The Fetch API cannot even represent these methods (`new Request` throws): answer before trying.
    if (FETCH_FORBIDDEN_METHODS.has(req.method)) return methodNotAllowed(["GET", "HEAD", "POST"])(req, res);
    try {
      const meta = requestMeta(res);
      const request = await toFetchRequest(req, res, { origin: originOf(req), bodyLimit: BODY_LIMIT_BYTES });
      const response =
        (await rateLimitByClient(services.rateLimits, request, meta)) ?? (await remix.handle(request, { services, meta }));
      await sendFetchResponse(res, response);
    } catch (error) {
      next(error);
    }
  });

  app.use(errorHandler(services));
  return app;
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
  return (_req: Request, res: Response) => {
    res.setHeader("Allow", allowed.join(", "));
    res.setHeader("Cache-Control", "no-store");
    res.status(405).json({ error: "invalid_request", error_description: "Method not allowed" });
  };
}

function originOf(req: Request): string {
  // The Host header only routes the request; every URL this server publishes comes from APP_URL.
  const host = req.get("host") ?? "localhost";
  return `${req.protocol}://${/^[A-Za-z0-9.:[\]-]+$/.test(host) ? host : "localhost"}`;
}

function errorHandler(services: Services) {
  return (error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const meta = requestMeta(res);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.setHeader("Cache-Control", "no-store");
    if (error instanceof BodyTooLargeError) {
      res.status(413).json({ error: "invalid_request", error_description: "Request body is larger than 1 MB" });
      return;
    }
    if (isClientError(error)) {
      res.status(400).json({ error: "invalid_request", error_description: "Malformed request" });
      return;
    }
    services.log.error({ err: error, requestId: meta?.requestId, path: req.path }, "unhandled error");
    res.status(500).json({ error: "server_error", error_description: "Internal server error", request_id: meta?.requestId });
  };
}

function isClientError(error: unknown): boolean {
  const status = (error as { status?: number; statusCode?: number } | null)?.status ?? (error as { statusCode?: number } | null)?.statusCode;
  return typeof status === "number" && status >= 400 && status < 500;
}
