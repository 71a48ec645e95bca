/**
 * CORS and the Origin check for browser-based MCP clients on /.well-known/*, /api/oauth/* and /mcp/* (MCP
 * 2025-11-25 Authorization; RFC 8414 §3 metadata is meant to be fetched cross-origin). Credentials are never
 * allowed: these endpoints are authenticated by bearer tokens and client credentials, not cookies.
 *
 * Which Origins are served (a request without `Origin` is not a browser's cross-origin call and always passes):
 * - `ALLOWED_ORIGINS` set: APP_URL's origin and the listed ones on all three; `*` in the list allows any.
 * - unset: any on /.well-known and /api/oauth; on /mcp only APP_URL's origin and loopback origins. MCP transports
 *   §Security Warning: servers MUST validate Origin and answer 403 to an invalid one (DNS rebinding).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Env } from "../env.ts";
import { isLoopbackHostname } from "../loopback.ts";
import { sendJson } from "./send-json.ts";

/** Case-insensitive, as Express matches the host's routes (`/MCP/mcp` reaches the MCP endpoint too). */
export const CORS_PATH = /^\/(\.well-known\/|api\/oauth\/|mcp(\/|$))/i;
const MCP_PATH = /^\/mcp(\/|$)/i;

const ALLOWED_HEADERS = [
  "Authorization",
  "Content-Type",
  "Mcp-Session-Id",
  "Mcp-Protocol-Version",
  "Mcp-Method",
  "Mcp-Name",
  "Last-Event-ID",
  "DPoP",
].join(", ");
const EXPOSED_HEADERS = ["Mcp-Session-Id", "WWW-Authenticate", "Mcp-Protocol-Version", "Retry-After", "DPoP-Nonce"].join(", ");

/** Whether `origin` may call `path`; `"*"` when any origin may (the answer then needs no `Vary`-specific echo). */
type OriginPolicy = (origin: string, path: string) => boolean | "*";

export function originPolicy(env: Pick<Env, "APP_URL" | "ALLOWED_ORIGINS">): OriginPolicy {
  const own = new URL(env.APP_URL).origin;
  if (env.ALLOWED_ORIGINS) {
    if (env.ALLOWED_ORIGINS.includes("*")) return () => "*";
    const allowed = new Set([own, ...env.ALLOWED_ORIGINS]);
    return (origin) => allowed.has(origin);
  }
  return (origin, path) => (MCP_PATH.test(path) ? origin === own || isLoopbackOrigin(origin) : "*");
}

function isLoopbackOrigin(origin: string): boolean {
  try {
    const url = new URL(origin);
    return (url.protocol === "http:" || url.protocol === "https:") && url.origin === origin && isLoopbackHostname(url.hostname);
  } catch {
    return false; // `null` (sandboxed frames, file: pages) and anything unparsable
  }
}

/**
 * Returns the CORS step: it answers preflights and refused Origins itself (returns true), and otherwise adds the
 * response headers and returns false.
 */
export function cors(
  env: Env,
  onRefused?: (res: ServerResponse, origin: string, path: string) => void,
): (req: IncomingMessage, res: ServerResponse, path: string) => boolean {
  const policy = originPolicy(env);
  return (req, res, path) => {
    if (!CORS_PATH.test(path)) return false;
    const origin = req.headers.origin;
    const vary = res.getHeader("Vary");
    res.setHeader("Vary", vary ? `${String(vary)}, Origin` : "Origin");
    const verdict = origin ? policy(origin, path) : "*";
    if (!verdict) {
      onRefused?.(res, origin!, path);
      sendJson(res, 403, { error: "invalid_request", error_description: "Origin not allowed" });
      return true;
    }
    const allowOrigin = origin && verdict !== "*" ? origin : "*";
    if (origin) {
      res.setHeader("Access-Control-Allow-Origin", allowOrigin);
      res.setHeader("Access-Control-Expose-Headers", EXPOSED_HEADERS);
    }
    if (req.method === "OPTIONS") {
      res.setHeader("Access-Control-Allow-Origin", allowOrigin);
      res.setHeader("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS");
      res.setHeader("Access-Control-Allow-Headers", ALLOWED_HEADERS);
      res.setHeader("Access-Control-Max-Age", "86400");
      res.statusCode = 204;
      res.end();
      return true;
    }
    return false;
  };
}
