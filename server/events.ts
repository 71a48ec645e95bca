/**
 * Domain events (node-oidc-provider `docs/events.md`). The domain emits; only server/analytics listens and turns
 * them into Prometheus metrics, traces and Postgres rows. Payloads never carry a token, code or secret.
 */
import { EventEmitter } from "node:events";

export type Severity = "low" | "medium" | "high" | "critical";

export type SecurityEventType =
  | "TOKEN_REUSE"
  | "CODE_REUSE"
  | "INVALID_TOKEN"
  | "SUSPICIOUS_ACTIVITY"
  | "RATE_LIMIT_EXCEEDED"
  | "INVALID_CLIENT"
  | "PKCE_FAILURE"
  | "REDIRECT_URI_MISMATCH"
  | "INVALID_ORIGIN"
  | "INVALID_DPOP_PROOF"
  /** A client called this server under another address than APP_URL, or asked for a resource it does not serve. */
  | "RESOURCE_MISMATCH"
  | "ADMIN_ACTION";

/** Who and where, attached to most events. */
export interface EventOrigin {
  /** The Client row id (`Client.id`), never the public `client_id`: one id per client across every event and row. */
  clientId?: string | null;
  userId?: string | null;
  ip?: string | null;
  userAgent?: string | null;
}

export interface DomainEvents {
  /** Every HTTP request once its response is finished (status is the one sent). */
  "http.request": EventOrigin & {
    method: string;
    route: string;
    status: number;
    durationMs: number;
    oauthError?: string | null;
  };
  "oauth.client.registered": { clientId: string; kind: "dynamic" | "metadata_document" | "manual" };
  "oauth.client.swept": { count: number };
  /** One authorization request reaching a decision point: outcome is what happened. */
  "oauth.authorize": EventOrigin & {
    outcome: "login_required" | "consent_shown" | "consent_remembered" | "approved" | "denied" | "error";
    error?: string;
  };
  "oauth.token.issued": EventOrigin & { grantType: string; refreshToken: boolean };
  "oauth.token.refreshed": EventOrigin & { reusedWithinGrace: boolean };
  "oauth.token.revoked": EventOrigin & { kind: "access_token" | "refresh_token" | "grant" | "client" | "user"; count: number };
  /**
   * Tokens stopped being valid before their expiry (revocation, reuse detection, client disabled or deleted, user
   * removed). Caches of verified tokens drop every entry that matches any listed id; with Redis the MCP side
   * forwards this to the other nodes.
   */
  "oauth.revocation": {
    grantIds?: string[];
    accessTokenIds?: string[];
    clientIds?: string[];
    userIds?: string[];
  };
  "oauth.grant.error": EventOrigin & { grantType?: string; error: string; reason?: string };
  "security.event": EventOrigin & {
    type: SecurityEventType;
    severity: Severity;
    details?: Record<string, unknown>;
  };
  "mcp.request": EventOrigin & { transport: "streamable-http" | "sse"; method: string; status: number };
  "mcp.tool.called": EventOrigin & { tool: string; outcome: "ok" | "error" | "denied"; durationMs: number };
  "ratelimit.exceeded": EventOrigin & { endpoint: string; key: "ip" | "client" };
  "session.cleanup": { deleted: number };
}

export type DomainEventName = keyof DomainEvents;

export class DomainEventBus {
  private readonly emitter = new EventEmitter({ captureRejections: false });

  constructor() {
    this.emitter.setMaxListeners(50);
  }

  emit<K extends DomainEventName>(name: K, payload: DomainEvents[K]): void {
    // A failing listener must never break the request that emitted the event.
    try {
      this.emitter.emit(name, payload);
    } catch {
      /* listeners log their own failures */
    }
  }

  on<K extends DomainEventName>(name: K, listener: (payload: DomainEvents[K]) => void): () => void {
    this.emitter.on(name, listener);
    return () => this.emitter.off(name, listener);
  }

  /** Shorthand for the most common event. */
  security(event: DomainEvents["security.event"]): void {
    this.emit("security.event", event);
  }
}
