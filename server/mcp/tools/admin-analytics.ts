/**
 * Admin tools over what server/analytics recorded: a traffic and security summary for a recent window, and the
 * latest security events, read through the same domain queries the admin console uses.
 */
import { z } from "zod";
import { listSecurityEvents } from "../../analytics/security-events.ts";
import { activeClients, requestSummary, securityEventSummary, tokensIssued, topClients, topEndpoints } from "../../analytics/summaries.ts";
import { resolveRange } from "../../analytics/time-range.ts";
import { requireAdmin } from "./admin-guard.ts";
import { McpScope } from "../../oauth/scopes.ts";
import { defineTool } from "./types.ts";

const SEVERITIES = ["low", "medium", "high", "critical"] as const;

export const adminAnalyticsSummary = defineTool({
  name: "admin_analytics_summary",
  title: "Analytics summary (admin)",
  description:
    "Administrators: a summary of the last N hours (default 24): requests, errors, availability and response times (p50/p95/p99), tokens issued, active clients, security events by type and severity, the busiest clients and endpoints.",
  inputSchema: {
    hours: z.number().int().min(1).max(24 * 90).default(24).describe("Window length in hours (1-2160, default 24)"),
  },
  annotations: { title: "Analytics summary", readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  scopes: [McpScope.admin],
  admin: true,
  async handler({ hours }, context) {
    await requireAdmin(context);
    const deps = context.services;
    const range = resolveRange({}, hours);
    // One bucket for the whole window: only totals are reported here.
    const bucketSeconds = hours * 3600;
    const [requests, tokens, clients, security, clientsTop, endpoints] = await Promise.all([
      requestSummary(deps, range),
      tokensIssued(deps, range, bucketSeconds),
      activeClients(deps, range),
      securityEventSummary(deps, range, bucketSeconds),
      topClients(deps, range, 5),
      topEndpoints(deps, range, 10),
    ]);
    return {
      window: { hours, from: range.from.toISOString(), to: range.to.toISOString() },
      requests,
      tokensIssued: tokens.total,
      clients,
      security: { total: security.total, unreviewed: security.unreviewed, byType: security.byType, bySeverity: security.bySeverity },
      topClients: clientsTop.map((c) => ({ ...c, lastSeen: c.lastSeen.toISOString() })),
      topEndpoints: endpoints,
    };
  },
});

export const adminSecurityEvents = defineTool({
  name: "admin_security_events",
  title: "Recent security events (admin)",
  description:
    "Administrators: the most recent security events (invalid tokens, token reuse, rate limiting, admin actions, …), newest first, optionally filtered by type, severity or client_id.",
  inputSchema: {
    type: z
      .string()
      .regex(/^[A-Z_]{1,64}$/, "must be an event type such as INVALID_TOKEN or RATE_LIMIT_EXCEEDED")
      .optional()
      .describe("Event type, e.g. INVALID_TOKEN, TOKEN_REUSE, RATE_LIMIT_EXCEEDED"),
    severity: z.enum(SEVERITIES).optional().describe("low | medium | high | critical"),
    clientId: z.string().min(1).max(2048).optional().describe("Only events of this client_id"),
    limit: z.number().int().min(1).max(100).default(20).describe("How many to return (1-100, default 20)"),
  },
  annotations: { title: "Recent security events", readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  scopes: [McpScope.admin],
  admin: true,
  async handler({ type, severity, clientId, limit }, context) {
    await requireAdmin(context);
    const page = await listSecurityEvents(context.services, { type, severity, clientId }, { limit, direction: "forward" });
    return {
      total: page.total,
      events: page.items.map((event) => ({
        id: event.id,
        timestamp: event.timestamp.toISOString(),
        type: event.eventType,
        severity: event.severity,
        clientId: event.clientPublicId,
        clientName: event.clientName,
        userId: event.userId,
        ipAddress: event.ipAddress,
        details: event.details ?? null,
        reviewed: Boolean(event.reviewedAt),
      })),
    };
  },
});
