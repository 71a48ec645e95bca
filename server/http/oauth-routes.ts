/**
 * The OAuth POST endpoints on the Node host (ADR 0014): `POST /api/oauth/token`, `/revoke`, `/introspect` and
 * `/register` at their exact published paths are answered here, on app.ts's fast path, instead of through Express,
 * a Fetch Request, Remix's route matching and a Fetch Response. Through Remix the token endpoint spent about as much
 * CPU in that hop as in the grant itself (bench/token.ts profile in ADR 0014).
 *
 * Same behaviour as the Remix resource routes (which still answer every other spelling, GETs and query strings):
 * the host's edge steps (request id, access log, security headers, CORS, per-IP limit) have run; the body is read
 * with the host's limit and input guard; the per-client limit applies; the endpoint itself is `services.oauth`'s,
 * with the one OAuth error mapper (respond.ts).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { bufferedRequest, type OAuthReply } from "../oauth/endpoint-http.ts";
import { ENDPOINT_PATHS, type OAuthPostEndpoint } from "../oauth/oauth-server.ts";
import { BODY_LIMIT_BYTES, readBody } from "./fetch-adapter.ts";
import type { HostServices } from "./host-services.ts";
import { rateLimitBufferedByClient, sendRejection } from "./rate-limit-middleware.ts";
import { requestMeta } from "./request-context.ts";

export type OAuthRouteHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** Exact request targets served on the fast path, and the endpoint each one is. */
export const OAUTH_POST_TARGETS: ReadonlyMap<string, OAuthPostEndpoint> = new Map(
  (Object.entries(ENDPOINT_PATHS) as Array<[OAuthPostEndpoint, string]>).map(([name, path]) => [path, name]),
);

export function oauthHandler(services: Pick<HostServices, "env" | "oauth" | "rateLimits">, name: OAuthPostEndpoint): OAuthRouteHandler {
  const { env, oauth, rateLimits } = services;
  // Registration has no per-client limit (there is no client yet); the other three share the token endpoint's.
  const limited = name === "register" ? null : ("token" as const);
  return async (req, res) => {
    const meta = requestMeta(res);
    const body = await readBody(req, BODY_LIMIT_BYTES);
    if (limited) {
      const request = { authorization: req.headers.authorization, contentType: req.headers["content-type"], body };
      const rejection = await rateLimitBufferedByClient(rateLimits, limited, request, meta);
      if (rejection) {
        sendRejection(res, meta, rejection);
        return;
      }
    }
    const reply = await oauth.reply(name, bufferedRequest("POST", env.APP_URL + (req.url ?? "/"), req.headers, body), meta);
    sendReply(res, reply);
  };
}

function sendReply(res: ServerResponse, reply: OAuthReply): void {
  res.statusCode = reply.status;
  for (const [name, value] of Object.entries(reply.headers)) res.setHeader(name, value);
  if (reply.body === null) {
    res.setHeader("Content-Length", 0);
    res.end();
    return;
  }
  res.setHeader("Content-Length", Buffer.byteLength(reply.body));
  res.end(reply.body);
}
