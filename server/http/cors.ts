/**
 * CORS for browser-based MCP clients on /.well-known/*, /api/oauth/* and /mcp/* (MCP 2025-11-25 Authorization;
 * RFC 8414 §3 metadata is meant to be fetched cross-origin). Credentials are never allowed: these endpoints are
 * authenticated by bearer tokens and client credentials, not cookies. With ALLOWED_ORIGINS set, other Origins are
 * refused (DNS-rebinding guard, MCP Security Best Practices).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Env } from "../env.ts";

/** Case-insensitive, as Express matches the host's routes (`/MCP/mcp` reaches the MCP endpoint too). */
export const CORS_PATH = /^\/(\.well-known\/|api\/oauth\/|mcp(\/|$))/i;

const ALLOWED_HEADERS = [
  "Authorization",
  "Content-Type",
  "Mcp-Session-Id",
  "Mcp-Protocol-Version",
  "Mcp-Method",
  "Mcp-Name",
  "Last-Event-ID",
].join(", ");
const EXPOSED_HEADERS = ["Mcp-Session-Id", "WWW-Authenticate", "Mcp-Protocol-Version", "Retry-After"].join(", ");
const ORIGIN_REFUSED = JSON.stringify({ error: "invalid_request", error_description: "Origin not allowed" });

/**
 * Returns the CORS step: it answers preflights and refused Origins itself (returns true), and otherwise adds the
 * response headers and returns false.
 */
export function cors(env: Env): (req: IncomingMessage, res: ServerResponse, path: string) => boolean {
  const allowList = env.ALLOWED_ORIGINS ? new Set([new URL(env.APP_URL).origin, ...env.ALLOWED_ORIGINS]) : null;
  return (req, res, path) => {
    if (!CORS_PATH.test(path)) return false;
    const origin = req.headers.origin;
    const vary = res.getHeader("Vary");
    res.setHeader("Vary", vary ? `${String(vary)}, Origin` : "Origin");
    if (origin && allowList && !allowList.has(origin)) {
      res.statusCode = 403;
      res.setHeader("Cache-Control", "no-store");
      res.setHeader("Content-Type", "application/json; charset=utf-8");
      res.setHeader("Content-Length", Buffer.byteLength(ORIGIN_REFUSED));
      res.end(ORIGIN_REFUSED);
      return true;
    }
    if (origin) {
      res.setHeader("Access-Control-Allow-Origin", allowList ? origin : "*");
      res.setHeader("Access-Control-Expose-Headers", EXPOSED_HEADERS);
    }
    if (req.method === "OPTIONS") {
      res.setHeader("Access-Control-Allow-Origin", origin && allowList ? origin : "*");
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
