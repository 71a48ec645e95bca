/**
 * The one subscriber to the domain events (node-oidc-provider `docs/events.md` habit): each event becomes metrics,
 * an analytics row where the table wants one, and a span when tracing is on. Listeners run synchronously inside the
 * emitting request, so they only count, push onto the recorder's buffer and end spans: no I/O, no awaits.
 */
import { context, SpanStatusCode, trace, type Attributes, type Tracer } from "@opentelemetry/api";
import { getRPCMetadata, RPCType } from "@opentelemetry/core";
import type { DomainEventBus, DomainEvents, EventOrigin, SecurityEventType, Severity } from "../events.ts";
import { grantTypeLabel, LabelGuard, mcpMethodLabel, methodLabel, oauthErrorLabel, statusLabel } from "./labels.ts";
import type { AnalyticsMetrics } from "./metrics.ts";
import type { AnalyticsRecorder } from "./recorder.ts";
import { cleanDetails, cleanText } from "./sanitize.ts";

const SEVERITIES = new Set<Severity>(["low", "medium", "high", "critical"]);
const AUTHORIZE_OUTCOMES = new Set(["login_required", "consent_shown", "consent_remembered", "approved", "denied", "error"]);
const CLIENT_KINDS = new Set(["dynamic", "metadata_document", "manual"]);
const REVOKED_KINDS = new Set(["access_token", "refresh_token", "grant", "client", "user"]);
const MCP_OUTCOMES = new Set(["ok", "error", "denied"]);

export interface SubscriberOptions {
  events: DomainEventBus;
  metrics: AnalyticsMetrics;
  /** Absent when ANALYTICS_ENABLED=false: metrics only, no rows. */
  recorder?: AnalyticsRecorder;
  /** Present when tracing is on. */
  tracer?: Tracer;
}

/** Subscribes; returns the function that unsubscribes everything. */
export function subscribeAnalytics(options: SubscriberOptions): () => void {
  const { events, metrics, recorder } = options;
  const tracer = options.tracer;
  const routes = new LabelGuard(300);
  const tools = new LabelGuard(100, /^[A-Za-z0-9_.:-]{1,64}$/);
  const limitedEndpoints = new LabelGuard(50);
  const securityTypes = new LabelGuard(40, /^[A-Z_]{1,40}$/);
  const off: Array<() => void> = [];
  const on = <K extends keyof DomainEvents>(name: K, listener: (payload: DomainEvents[K]) => void) => {
    off.push(events.on(name, listener));
  };

  const recordSecurityRow = (
    origin: EventOrigin,
    type: string,
    severity: string,
    details: Record<string, unknown> | undefined,
  ) => {
    recorder?.recordSecurity({
      timestamp: new Date(),
      eventType: type,
      severity,
      clientId: cleanText(origin.clientId, 255),
      userId: cleanText(origin.userId, 64),
      ipAddress: cleanText(origin.ip, 64),
      userAgent: cleanText(origin.userAgent, 512),
      details: details ? (cleanDetails(details) as object) : undefined,
    });
  };

  on("http.request", (e) => {
    const route = routes.label(e.route);
    metrics.httpDuration.observe(
      { method: methodLabel(e.method), route, status: statusLabel(e.status) },
      Math.max(0, e.durationMs) / 1000,
    );
    if (tracer) {
      // Names the server span `METHOD /route/:pattern` (instrumentation-http reads the RPC metadata at response end).
      const rpc = getRPCMetadata(context.active());
      if (rpc?.type === RPCType.HTTP) rpc.route = e.route;
    }
    recorder?.recordRequest({
      // The row's time is when the request arrived.
      timestamp: new Date(Date.now() - Math.max(0, e.durationMs)),
      method: methodLabel(e.method),
      endpoint: cleanText(e.route, 200) ?? "unmatched",
      statusCode: Math.trunc(e.status),
      responseTime: Math.round(Math.max(0, e.durationMs) * 1000) / 1000,
      clientId: cleanText(e.clientId, 255),
      userId: cleanText(e.userId, 64),
      ipAddress: cleanText(e.ip, 64),
      userAgent: cleanText(e.userAgent, 512),
      oauthError: cleanText(e.oauthError, 64),
    });
  });

  on("oauth.authorize", (e) => {
    const outcome = AUTHORIZE_OUTCOMES.has(e.outcome) ? e.outcome : "other";
    metrics.authorizationRequests.inc({ outcome });
    instantSpan(tracer, "oauth.authorize", { "oauth.outcome": outcome, ...clientAttr(e), ...errorAttr(e.error) }, outcome === "error");
  });

  on("oauth.token.issued", (e) => {
    const grantType = grantTypeLabel(e.grantType);
    metrics.tokensIssued.inc({ grant_type: grantType });
    instantSpan(tracer, "oauth.token.issued", {
      "oauth.grant_type": grantType,
      "oauth.refresh_token_issued": e.refreshToken,
      ...clientAttr(e),
    });
  });

  on("oauth.token.refreshed", (e) => {
    metrics.refreshRotations.inc();
    if (e.reusedWithinGrace) metrics.refreshReuse.inc({ outcome: "grace" });
    instantSpan(tracer, "oauth.token.refreshed", { "oauth.reused_within_grace": e.reusedWithinGrace, ...clientAttr(e) });
  });

  on("oauth.token.revoked", (e) => {
    const kind = REVOKED_KINDS.has(e.kind) ? e.kind : "other";
    metrics.tokensRevoked.inc({ kind }, Math.max(0, e.count));
    instantSpan(tracer, "oauth.token.revoked", { "oauth.revoked_kind": kind, "oauth.revoked_count": e.count, ...clientAttr(e) });
  });

  on("oauth.grant.error", (e) => {
    const error = oauthErrorLabel(e.error);
    const grantType = grantTypeLabel(e.grantType);
    metrics.tokenErrors.inc({ error, grant_type: grantType });
    instantSpan(
      tracer,
      "oauth.token.error",
      { "oauth.grant_type": grantType, ...errorAttr(error), ...(e.reason ? { "oauth.error_reason": e.reason.slice(0, 200) } : {}), ...clientAttr(e) },
      true,
    );
  });

  on("oauth.client.registered", (e) => {
    const kind = CLIENT_KINDS.has(e.kind) ? e.kind : "other";
    metrics.clientsRegistered.inc({ kind });
    instantSpan(tracer, "oauth.client.registered", { "oauth.client_kind": kind, "oauth.client_id": e.clientId });
  });

  on("oauth.client.swept", (e) => metrics.clientsSwept.inc(Math.max(0, e.count)));
  on("session.cleanup", (e) => metrics.sessionsCleaned.inc(Math.max(0, e.deleted)));

  on("security.event", (e) => {
    const type = securityTypes.label(e.type);
    const severity = SEVERITIES.has(e.severity) ? e.severity : "other";
    metrics.securityEvents.inc({ type, severity });
    // TOKEN_REUSE is a rotated refresh token presented again after the grace window: the family was revoked.
    if (e.type === ("TOKEN_REUSE" satisfies SecurityEventType)) metrics.refreshReuse.inc({ outcome: "revoked" });
    trace.getActiveSpan()?.addEvent("security.event", { "security.type": type, "security.severity": severity });
    recordSecurityRow(e, e.type.slice(0, 40), severity, e.details);
  });

  // Every refusal is counted here; the limiter also emits one RATE_LIMIT_EXCEEDED security event per key and window,
  // which is what becomes a row (a flood is counted in full but recorded once).
  on("ratelimit.exceeded", (e) => {
    const endpoint = limitedEndpoints.label(e.endpoint);
    const key = e.key === "ip" || e.key === "client" ? e.key : "other";
    metrics.rateLimited.inc({ endpoint, key });
    trace.getActiveSpan()?.addEvent("ratelimit.exceeded", { "ratelimit.endpoint": endpoint, "ratelimit.key": key });
  });

  on("mcp.request", (e) => {
    metrics.mcpRequests.inc({
      transport: e.transport === "sse" ? "sse" : "streamable-http",
      method: mcpMethodLabel(e.method),
      status: statusLabel(e.status),
    });
  });

  on("mcp.tool.called", (e) => {
    const tool = tools.label(e.tool);
    const outcome = MCP_OUTCOMES.has(e.outcome) ? e.outcome : "other";
    const seconds = Math.max(0, e.durationMs) / 1000;
    metrics.mcpToolCalls.inc({ tool, outcome });
    metrics.mcpToolDuration.observe({ tool }, seconds);
    if (tracer) {
      // The event arrives when the call ends; the span covers the call.
      const end = Date.now();
      const span = tracer.startSpan("mcp.tool.call", {
        startTime: end - Math.max(0, e.durationMs),
        attributes: { "mcp.tool.name": tool, "mcp.tool.outcome": outcome, ...clientAttr(e) },
      });
      if (outcome !== "ok") span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
      span.end(end);
    }
  });

  return () => {
    for (const unsubscribe of off.splice(0)) unsubscribe();
  };
}

/** A span for a step the domain reports once it is decided (it has no measurable duration of its own). */
function instantSpan(tracer: Tracer | undefined, name: string, attributes: Attributes, failed = false): void {
  if (!tracer) return;
  const span = tracer.startSpan(name, { attributes });
  if (failed) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}

function clientAttr(origin: EventOrigin): Attributes {
  return origin.clientId ? { "oauth.client_id": origin.clientId } : {};
}

function errorAttr(error: string | null | undefined): Attributes {
  return error ? { "oauth.error": error } : {};
}
