/**
 * Security headers on every response (helmet): CSP, frame-ancestors 'none' + X-Frame-Options DENY (the consent
 * page must never be framed; RFC 9700 §4.16), nosniff, no Referer to other origins (authorization URLs carry state),
 * HSTS only when APP_URL is https.
 *
 * helmet decides the headers, once, at start-up: its output is captured and replayed on every response, which
 * costs a few `setHeader` calls instead of helmet's per-request middleware chain. The one value that changes is the
 * CSP of pages: a response whose meta hands out a nonce (request-context.ts; Remix's inline scripts carry it) gets
 * the policy with `'nonce-…'` in `script-src`. JSON and other responses keep the same policy without a nonce, so
 * no inline script can run there.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import helmet from "helmet";
import type { Env } from "../env.ts";

const CSP = "Content-Security-Policy";
/** Stands in for the nonce while helmet's output is captured; never sent. */
const NONCE_MARK = "NONCE-MARK-0000";

export interface SecurityHeaders {
  /** The headers, as helmet would set them, with a CSP whose `script-src` has no nonce. */
  apply(res: ServerResponse): void;
  /** Replaces the CSP with the one allowing inline scripts that carry `nonce`. */
  useNonce(res: ServerResponse, nonce: string): void;
  /** The [name, value] pairs `apply` sets (CSP without nonce included). */
  readonly headers: ReadonlyArray<readonly [string, string]>;
}

function helmetFor(env: Env, withNonce: boolean) {
  const https = env.APP_URL.startsWith("https:");
  const dev = env.NODE_ENV === "development";
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        "default-src": ["'self'"],
        "base-uri": ["'self'"],
        "script-src": withNonce ? ["'self'", `'nonce-${NONCE_MARK}'`] : ["'self'"],
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

/** Runs a helmet middleware against a stand-in response and returns the headers it set. */
function capture(middleware: ReturnType<typeof helmet>): Array<[string, string]> {
  const headers: Array<[string, string]> = [];
  const res = {
    setHeader(name: string, value: string | number) {
      headers.push([name, String(value)]);
    },
    removeHeader() {},
  };
  let done = false;
  middleware({} as IncomingMessage, res as unknown as ServerResponse, (error?: unknown) => {
    if (error) throw error;
    done = true;
  });
  if (!done) throw new Error("helmet did not finish synchronously");
  return headers;
}

export function securityHeaders(env: Env): SecurityHeaders {
  const headers = capture(helmetFor(env, false));
  const withNonce = capture(helmetFor(env, true)).find(([name]) => name === CSP)?.[1];
  const mark = withNonce?.indexOf(NONCE_MARK) ?? -1;
  if (!withNonce || mark < 0 || !headers.some(([name]) => name === CSP)) throw new Error("helmet set no CSP");
  const before = withNonce.slice(0, mark);
  const after = withNonce.slice(mark + NONCE_MARK.length);
  return {
    headers,
    apply(res) {
      for (let i = 0; i < headers.length; i += 1) res.setHeader(headers[i]![0], headers[i]![1]);
    },
    useNonce(res, nonce) {
      res.setHeader(CSP, before + nonce + after);
    },
  };
}
