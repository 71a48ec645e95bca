/**
 * Where the rate limits (server/request/rate-limit.ts) apply on the host:
 * - per IP, by path, before any handler runs (`rateLimitByIp`): registration, authorization, the token endpoint
 *   (with revocation and introspection) and every /mcp/* request;
 * - per client on authorize and token (`rateLimitByClient`), once the fetch adapter has buffered the body: the
 *   `client_id` comes from the query, HTTP Basic credentials (RFC 6749 §2.3.1) or the form/JSON body, else the
 *   `sub` of a `client_assertion` (RFC 7523 §3: a private_key_jwt client may omit client_id), read unverified;
 * - per client on MCP after the bearer check (server/mcp), where the verified token names the client.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { EventOrigin } from "../events.ts";
import { claimedClientId } from "../oauth/client-assertion.ts";
import type { RateLimitedEndpoint, RateLimitRejection, RateLimits } from "../request/rate-limit.ts";
import { rejectionResponse } from "../request/rate-limit.ts";
import type { RequestMeta } from "../request/meta.ts";

/**
 * The rate-limited endpoint a request is for, or null. The path is compared the way the routers match it
 * (dot segments resolved, percent-decoded, case-insensitively, trailing slashes ignored), so `/API/oauth/token/`
 * or `/api/oauth/x/../token` cannot dodge the limit.
 */
export function rateLimitedEndpoint(method: string, rawPath: string): RateLimitedEndpoint | null {
  if (method === "OPTIONS") return null;
  if (rawPath === "/mcp/mcp") return "mcp";
  const path = routerPath(rawPath);
  if (path === "/mcp" || path.startsWith("/mcp/")) return "mcp";
  if (path === "/oauth/authorize") return "authorize";
  if (method !== "POST") return null;
  if (path === "/api/oauth/register") return "register";
  if (path === "/api/oauth/token" || path === "/api/oauth/revoke" || path === "/api/oauth/introspect") return "token";
  return null;
}

export function originOf(meta: RequestMeta): EventOrigin {
  return { ip: meta.ip, userAgent: meta.userAgent, clientId: meta.clientId ?? null, userId: meta.userId ?? null };
}

/**
 * `path` as the routers see it: dot segments resolved (the Fetch URL handed to Remix resolves them, RFC 3986
 * §5.2.4), percent-decoded, lower-case, without trailing slashes.
 */
function routerPath(path: string): string {
  let normalised = path;
  if (normalised.includes(".")) {
    try {
      normalised = new URL(normalised, "http://host").pathname;
    } catch {
      // Not a path the routers can parse either.
    }
  }
  if (normalised.includes("%")) {
    try {
      normalised = decodeURIComponent(normalised);
    } catch {
      // Not decodable: the routers will not match it to an endpoint either.
    }
  }
  normalised = normalised.toLowerCase();
  while (normalised.length > 1 && normalised.endsWith("/")) normalised = normalised.slice(0, -1);
  return normalised;
}

export function sendRejection(res: ServerResponse, meta: RequestMeta, rejection: RateLimitRejection): void {
  meta.oauthError = "rate_limit_exceeded";
  const body = JSON.stringify(rejection.body);
  res.statusCode = rejection.status;
  for (const [name, value] of Object.entries(rejection.headers)) res.setHeader(name, value);
  res.setHeader("Content-Length", Buffer.byteLength(body));
  res.end(body);
}

/** MCP routes live on the host (not in Remix): a refusal here names them for the access log and analytics. */
const HOST_ROUTES = new Set(["/mcp/mcp", "/mcp/sse", "/mcp/message"]);

/**
 * The per-IP limits, before any handler: calls `next()` when the request may go on, `next(error)` when the limiter
 * failed, and otherwise answers 429 itself.
 */
export function rateLimitByIp(limits: RateLimits) {
  return (req: IncomingMessage, res: ServerResponse, meta: RequestMeta, path: string, next: (error?: unknown) => void): void => {
    const endpoint = rateLimitedEndpoint(req.method ?? "GET", path);
    if (!endpoint) return next();
    limits.consume(endpoint, "ip", meta.ip, originOf(meta)).then((rejection) => {
      if (!rejection) return next();
      if (HOST_ROUTES.has(path)) meta.route ??= path;
      sendRejection(res, meta, rejection);
    }, next);
  };
}

/**
 * The per-client limits of authorize and token, for a request whose body the fetch adapter has buffered. Resolves
 * the 429 to send, or null to go on.
 */
export async function rateLimitByClient(limits: RateLimits, request: Request, meta: RequestMeta): Promise<Response | null> {
  const url = new URL(request.url);
  const endpoint = rateLimitedEndpoint(request.method, url.pathname);
  if (endpoint !== "authorize" && endpoint !== "token") return null;
  const clientId = await clientIdOf(request, url);
  if (!clientId) return null;
  const rejection = await limitClient(limits, endpoint, clientId, meta);
  return rejection && rejectionResponse(rejection);
}

/**
 * The same per-client limit on the host's fast path of the OAuth POST endpoints (oauth-routes.ts), for a request
 * without a query string whose body is already read. Resolves the refusal to send, or null to go on.
 */
export function rateLimitBufferedByClient(
  limits: RateLimits,
  endpoint: RateLimitedEndpoint,
  request: { authorization: string | undefined; contentType: string | undefined; body: Buffer },
  meta: RequestMeta,
): Promise<RateLimitRejection | null> {
  if (endpoint !== "authorize" && endpoint !== "token") return NONE;
  const basic = clientIdOfBasic(request.authorization);
  const clientId = basic !== undefined ? basic : clientIdOfBody(request.contentType ?? "", () => request.body.toString("utf8"));
  if (!clientId) return NONE;
  return limitClient(limits, endpoint, clientId, meta);
}

const NONE: Promise<null> = Promise.resolve(null);

async function limitClient(limits: RateLimits, endpoint: RateLimitedEndpoint, clientId: string, meta: RequestMeta): Promise<RateLimitRejection | null> {
  const rejection = await limits.consume(endpoint, "client", clientId, { ...originOf(meta), clientId });
  if (rejection) meta.oauthError = "rate_limit_exceeded";
  return rejection;
}

const MAX_CLIENT_ID = 2048;

/** `client_id` from the query, Basic credentials or the body; never reads or keeps the secret. */
async function clientIdOf(request: Request, url: URL): Promise<string | null> {
  const fromQuery = url.searchParams.get("client_id");
  if (fromQuery) return fromQuery.slice(0, MAX_CLIENT_ID);
  const basic = clientIdOfBasic(request.headers.get("authorization") ?? undefined);
  if (basic !== undefined) return basic;
  if (request.method !== "POST" || !request.body) return null;
  const type = request.headers.get("content-type") ?? "";
  if (!BODY_WITH_CLIENT_ID.test(type)) return null;
  const text = await request.clone().text();
  return clientIdOfBody(type, () => text);
}

const BODY_WITH_CLIENT_ID = /^application\/(x-www-form-urlencoded|json)/i;

/** From HTTP Basic credentials (RFC 6749 §2.3.1): the id, null when undecodable, undefined when not Basic. */
function clientIdOfBasic(authorization: string | undefined): string | null | undefined {
  if (!authorization || !/^basic /i.test(authorization)) return undefined;
  const decoded = Buffer.from(authorization.slice(6).trim(), "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon <= 0) return undefined;
  try {
    return decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, " ")).slice(0, MAX_CLIENT_ID);
  } catch {
    return null;
  }
}

function clientIdOfBody(type: string, text: () => string): string | null {
  try {
    if (/^application\/x-www-form-urlencoded/i.test(type)) {
      const form = new URLSearchParams(text());
      const assertion = form.get("client_assertion");
      return (form.get("client_id") ?? (assertion ? claimedClientId(assertion) : undefined))?.slice(0, MAX_CLIENT_ID) || null;
    }
    if (/^application\/json/i.test(type)) {
      const body = JSON.parse(text()) as { client_id?: unknown } | null;
      return typeof body?.client_id === "string" ? body.client_id.slice(0, MAX_CLIENT_ID) || null : null;
    }
  } catch {
    // A malformed body is the endpoint's to reject.
  }
  return null;
}
