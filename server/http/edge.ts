/**
 * The host's cross-cutting steps, in order, for every request: request context (id, IP, lazy CSP nonce), access
 * log + `http.request` event, security headers, CORS, and the per-IP rate limit. Written against plain Node
 * requests so that the same steps run in front of Express and on the fast path of the MCP endpoints (app.ts), which
 * skips Express's router.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Services } from "../services.ts";
import { accessLog } from "./access-log.ts";
import { cors } from "./cors.ts";
import { rateLimitByIp } from "./rate-limit-middleware.ts";
import { createRequestMeta, type RequestMeta } from "./request-context.ts";
import { securityHeaders } from "./security-headers.ts";
import { sendJson } from "./send-json.ts";

/**
 * Runs the steps; calls `next()` when the request may go on to its handler, `next(error)` when a step failed. A
 * step that answered itself (preflight, refused Origin, 429) calls neither. `route` names a route known up front.
 */
export type Edge = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void, route?: string) => RequestMeta;

export function createEdge(
  services: Pick<Services, "env" | "log" | "events" | "rateLimits">,
  routeOf: (path: string) => string,
): Edge {
  const { env } = services;
  const headers = securityHeaders(env);
  const watch = accessLog(services, (req) => routeOf(pathOf(originalUrl(req))));
  const corsStep = cors(env);
  const limit = rateLimitByIp(services.rateLimits);
  const onNonce = headers.useNonce;
  return (req, res, next, route) => {
    const meta = createRequestMeta(req, res, env.TRUST_PROXY, onNonce);
    if (route) meta.route = route;
    watch(res);
    headers.apply(res);
    const path = pathOf(originalUrl(req));
    if (corsStep(req, res, path)) return meta;
    if (req.headers.authorization !== undefined && repeatedAuthorization(req.rawHeaders)) {
      // RFC 9110 §5.3: Authorization is not a list, so two of them make the request malformed. Node keeps the first
      // and drops the rest; a proxy in front may read the other one. RFC 6750 §3.1: invalid_request is a 400.
      sendJson(res, 400, { error: "invalid_request", error_description: "Repeated Authorization header" });
      return meta;
    }
    limit(req, res, meta, path, next);
    return meta;
  };
}

/** True when the raw header list (name, value, name, value, …) holds Authorization more than once. */
function repeatedAuthorization(raw: string[]): boolean {
  let seen = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 13 && name.toLowerCase() === "authorization") {
      if (seen) return true;
      seen = true;
    }
  }
  return false;
}

/** Express rewrites `req.url` under mount points; the path the client asked for is in `originalUrl`. */
function originalUrl(req: IncomingMessage): string {
  return (req as { originalUrl?: string }).originalUrl ?? req.url ?? "/";
}

/** The path of a request target (`/a/b?c` -> `/a/b`), as Express's `req.path` reads it. */
export function pathOf(url: string): string {
  if (url.startsWith("/")) {
    const query = url.indexOf("?");
    return query < 0 ? url : url.slice(0, query);
  }
  try {
    // Absolute form (RFC 9112 §3.2.2), as sent to proxies.
    return new URL(url).pathname;
  } catch {
    return "/";
  }
}
