/**
 * Security events the host records for the connection doctor (server/doctor): an `Origin` refused by the CORS
 * step, and a request for /.well-known, /api/oauth or /mcp that arrived under another host than APP_URL's (the
 * usual sign of an APP_URL that does not match the public address, so the resource in the metadata differs from
 * the URL the client called, RFC 9728 §3.3) — only when the host the client addressed is known (`publicHost`). Each is recorded once per (what, IP) and minute: a client retrying
 * in a loop must not fill the table. Only the Origin, the host and the route are kept: no token, query or body.
 */
import type { IncomingMessage } from "node:http";
import type { Env } from "../env.ts";
import type { DomainEventBus } from "../events.ts";
import type { RequestMeta } from "../request/meta.ts";

const WINDOW_MS = 60_000;
const MAX_KEYS = 10_000;

/** Remembers keys for a window; `first(key)` is true once per key and window. Bounded: the oldest go first. */
export class OncePerWindow {
  private readonly seen = new Map<string, number>();

  constructor(private readonly windowMs = WINDOW_MS, private readonly maxKeys = MAX_KEYS) {}

  first(key: string, now = Date.now()): boolean {
    const until = this.seen.get(key);
    if (until !== undefined && until > now) return false;
    this.seen.delete(key);
    if (this.seen.size >= this.maxKeys) {
      const oldest = this.seen.keys().next();
      if (!oldest.done) this.seen.delete(oldest.value);
    }
    this.seen.set(key, now + this.windowMs);
    return true;
  }
}

export interface ConnectionNotes {
  originRefused(meta: RequestMeta, origin: string, path: string): void;
  /** Checks the host the request was sent to against APP_URL's. */
  checkHost(req: IncomingMessage, meta: RequestMeta, path: string): void;
}

/** `routeOf` names a path's route pattern (never the raw path: it is what the rows carry). */
export function connectionNotes(
  env: Pick<Env, "APP_URL" | "TRUST_PROXY">,
  events: DomainEventBus,
  routeOf: (path: string) => string,
): ConnectionNotes {
  const once = new OncePerWindow();
  const route = (meta: RequestMeta, path: string) => (meta.route ?? routeOf(path)).slice(0, 100);
  const appHost = new URL(env.APP_URL).host.toLowerCase();
  const origin = (meta: RequestMeta) => ({ ip: meta.ip, userAgent: meta.userAgent, clientId: meta.clientId ?? null });
  return {
    originRefused(meta, refused, path) {
      if (!once.first(`origin ${meta.ip} ${refused}`)) return;
      events.security({
        ...origin(meta),
        type: "INVALID_ORIGIN",
        severity: "low",
        details: { origin: refused.slice(0, 200), endpoint: route(meta, path) },
      });
    },
    checkHost(req, meta, path) {
      const host = publicHost(req, env.TRUST_PROXY);
      if (!host || host === appHost) return;
      if (!once.first(`host ${meta.ip} ${host}`)) return;
      events.security({
        ...origin(meta),
        type: "RESOURCE_MISMATCH",
        severity: "low",
        details: { reason: "host", calledHost: host.slice(0, 200), expected: env.APP_URL, endpoint: route(meta, path) },
      });
    },
  };
}

/**
 * The host the client addressed, when it can be known: X-Forwarded-Host from a trusted proxy, or the Host of a
 * request that came straight here. Behind a proxy (Via or X-Forwarded-* present) that is not trusted, or that does
 * not say, Host is usually the proxy's upstream name and tells nothing about the public address: null.
 */
function publicHost(req: IncomingMessage, trustProxy: boolean): string | null {
  const forwardedHost = req.headers["x-forwarded-host"];
  if (trustProxy && typeof forwardedHost === "string") return forwardedHost.split(",")[0].trim().toLowerCase() || null;
  const proxied = req.headers.via !== undefined || req.headers["x-forwarded-for"] !== undefined || req.headers.forwarded !== undefined;
  if (proxied) return null;
  return req.headers.host?.toLowerCase() ?? null;
}
