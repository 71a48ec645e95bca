/**
 * CORS for browser-based MCP clients on /.well-known/*, /api/oauth/* and /mcp/* (MCP 2025-11-25 Authorization;
 * RFC 8414 §3 metadata is meant to be fetched cross-origin). Credentials are never allowed: these endpoints are
 * authenticated by bearer tokens and client credentials, not cookies. With ALLOWED_ORIGINS set, other Origins are
 * refused (DNS-rebinding guard, MCP Security Best Practices).
 */
import type { NextFunction, Request, Response } from "express";
import type { Env } from "../env.ts";

export const CORS_PATH = /^\/(\.well-known\/|api\/oauth\/|mcp(\/|$))/;

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

export function originAllowed(env: Env, origin: string): boolean {
  if (!env.ALLOWED_ORIGINS) return true;
  return origin === new URL(env.APP_URL).origin || env.ALLOWED_ORIGINS.includes(origin);
}

export function cors(env: Env) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (!CORS_PATH.test(req.path)) return next();
    const origin = req.get("origin");
    res.append("Vary", "Origin");
    if (origin && !originAllowed(env, origin)) {
      res.status(403).setHeader("Cache-Control", "no-store");
      res.json({ error: "invalid_request", error_description: "Origin not allowed" });
      return;
    }
    if (origin) {
      res.setHeader("Access-Control-Allow-Origin", env.ALLOWED_ORIGINS ? origin : "*");
      res.setHeader("Access-Control-Expose-Headers", EXPOSED_HEADERS);
    }
    if (req.method === "OPTIONS") {
      res.setHeader("Access-Control-Allow-Origin", origin && env.ALLOWED_ORIGINS ? origin : "*");
      res.setHeader("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS");
      res.setHeader("Access-Control-Allow-Headers", ALLOWED_HEADERS);
      res.setHeader("Access-Control-Max-Age", "86400");
      res.status(204).end();
      return;
    }
    next();
  };
}
