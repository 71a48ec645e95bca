/**
 * Security headers on every response (helmet): CSP with a per-request nonce for Remix's inline scripts,
 * frame-ancestors 'none' + X-Frame-Options DENY (the consent page must never be framed; RFC 9700 §4.16),
 * nosniff, no Referer to other origins (authorization URLs carry state), HSTS only when APP_URL is https.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import helmet from "helmet";
import type { Env } from "../env.ts";
import type { RequestMeta } from "./request-context.ts";

export function securityHeaders(env: Env) {
  const https = env.APP_URL.startsWith("https:");
  const dev = env.NODE_ENV === "development";
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        "default-src": ["'self'"],
        "base-uri": ["'self'"],
        "script-src": [
          "'self'",
          (_req: IncomingMessage, res: ServerResponse) =>
            `'nonce-${((res as unknown as { locals: { meta: RequestMeta } }).locals.meta).cspNonce}'`,
        ],
        // Tremor's charts set inline style attributes.
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "https:"],
        "font-src": ["'self'", "data:"],
        "connect-src": dev ? ["'self'", "ws:"] : ["'self'"],
        "object-src": ["'none'"],
        "frame-ancestors": ["'none'"],
        // No form-action: browsers apply it to the redirect that follows the consent form, and that redirect goes
        // to the client's (validated) redirect_uri on another origin.
        ...(https ? { "upgrade-insecure-requests": [] } : {}),
      },
    },
    strictTransportSecurity: https ? { maxAge: 63_072_000, includeSubDomains: true } : false,
    xFrameOptions: { action: "deny" },
    // `same-origin`, not `no-referrer`: under no-referrer browsers send `Origin: null` on form POSTs, which Remix's
    // own CSRF check refuses (every sign-in and consent form would fail); other origins still get no Referer.
    referrerPolicy: { policy: "same-origin" },
    crossOriginResourcePolicy: { policy: "same-site" },
    crossOriginOpenerPolicy: { policy: "same-origin" },
  });
}
