/**
 * The host's cross-cutting steps, in order, for every request: request context (id, IP, lazy CSP nonce), access
 * log + `http.request` event, security headers, the input guard on the target and headers (input-guard.ts; bodies
 * are guarded where they are read), CORS, and the per-IP rate limit. Written against plain Node
 * requests so that the same steps run in front of Express and on the fast path of the MCP endpoints (app.ts), which
 * skips Express's router.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { accessLog } from "./access-log.ts";
import { sendBadRequest } from "./bad-request.ts";
import { connectionNotes } from "./connection-notes.ts";
import { cors, CORS_PATH } from "./cors.ts";
import type { HostServices } from "./host-services.ts";
import { headerProblem, targetProblem } from "./input-guard.ts";
import { rateLimitByIp } from "./rate-limit-middleware.ts";
import type { RequestMeta } from "../request/meta.ts";
import { createRequestMeta, requestMeta } from "./request-context.ts";
import { originalUrl, pathOf } from "./request-target.ts";
import { securityHeaders } from "./security-headers.ts";

/**
 * Runs the steps; calls `next()` when the request may go on to its handler, `next(error)` when a step failed. A
 * step that answered itself (preflight, refused Origin, 429) calls neither. `route` names a route known up front.
 */
export type Edge = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void, route?: string) => RequestMeta;

export function createEdge(
  services: Pick<HostServices, "env" | "log" | "events" | "rateLimits">,
  routeOf: (path: string) => string,
): Edge {
  const { env } = services;
  const headers = securityHeaders(env);
  const watch = accessLog(services, (req) => routeOf(pathOf(originalUrl(req))));
  const notes = connectionNotes(env, services.events, routeOf);
  const corsStep = cors(env, (res, origin, path) => notes.originRefused(requestMeta(res), origin, path));
  const limit = rateLimitByIp(services.rateLimits);
  const onNonce = headers.useNonce;
  return (req, res, next, route) => {
    const meta = createRequestMeta(req, res, env.TRUST_PROXY, onNonce);
    if (route) meta.route = route;
    watch(res);
    headers.apply(res);
    const target = originalUrl(req);
    const problem = targetProblem(target) ?? headerProblem(req.rawHeaders);
    if (problem) {
      // A path that is not one (undecodable, protocol-relative) is not matched against the routes.
      if (problem.part === "path") meta.route ??= "unmatched";
      sendBadRequest(res, target, problem);
      return meta;
    }
    const path = pathOf(target);
    if (CORS_PATH.test(path)) notes.checkHost(req, meta, path);
    if (corsStep(req, res, path)) return meta;
    limit(req, res, meta, path, next);
    return meta;
  };
}
