/**
 * Per-request facts the host gathers and the handlers enrich: request id, client IP, CSP nonce, and what the
 * handler learned (route pattern, OAuth client, user, OAuth error code) for the access log and analytics.
 */
import { randomBytes, randomUUID } from "node:crypto";
import type { NextFunction, Request, Response } from "express";

export interface RequestMeta {
  requestId: string;
  startedAt: bigint;
  ip: string;
  userAgent: string | null;
  cspNonce: string;
  /** Route pattern (never the raw path), set by the host's router or the Remix route matcher. */
  route?: string;
  clientId?: string | null;
  userId?: string | null;
  oauthError?: string | null;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

export function requestMeta(res: Response): RequestMeta {
  return res.locals.meta as RequestMeta;
}

export function requestContext() {
  return (req: Request, res: Response, next: NextFunction) => {
    const incoming = req.get("x-request-id");
    const meta: RequestMeta = {
      requestId: incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID(),
      startedAt: process.hrtime.bigint(),
      // Express resolves X-Forwarded-For only when `trust proxy` is on (TRUST_PROXY), so it cannot be spoofed.
      ip: normaliseIp(req.ip ?? req.socket.remoteAddress ?? ""),
      userAgent: req.get("user-agent")?.slice(0, 512) ?? null,
      cspNonce: randomBytes(16).toString("base64"),
    };
    res.locals.meta = meta;
    res.setHeader("X-Request-Id", meta.requestId);
    next();
  };
}

/** `::ffff:127.0.0.1` -> `127.0.0.1`. */
export function normaliseIp(ip: string): string {
  return ip.startsWith("::ffff:") && ip.includes(".") ? ip.slice(7) : ip;
}
