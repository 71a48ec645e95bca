/**
 * Admin tools over what server/analytics recorded: a traffic and security summary for a recent window, and the
 * latest security events (read through the security-events domain functions the admin console uses).
 */
import { z } from "zod";
import { Prisma } from "../../db/client.ts";
import { listSecurityEvents } from "../../trpc/domain/security-events.ts";
import { requireAdmin } from "./admin-guard.ts";
import { defineTool } from "./types.ts";

const SEVERITIES = ["low", "medium", "high", "critical"] as const;

export const adminAnalyticsSummary = defineTool({
  name: "admin_analytics_summary",
  title: "Analytics summary (admin)",
  description:
    "Administrators: a summary of the last N hours (default 24): requests by status class, response times (average, p95), busiest endpoints, OAuth errors, security events by type and severity, tokens issued, and current totals of clients, users and active grants.",
  inputSchema: {
    hours: z.number().int().min(1).max(24 * 90).default(24).describe("Window length in hours (1-2160, default 24)"),
  },
  annotations: { title: "Analytics summary", readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  admin: true,
  async handler({ hours }, context) {
    await requireAdmin(context);
    const { prisma } = context.services;
    const since = new Date(Date.now() - hours * 3600_000);
    const [traffic, endpoints, oauthErrors, security, tokensIssued, clients, users, activeGrants] = await Promise.all([
      prisma.$queryRaw<Array<{ total: bigint; ok: bigint; redirects: bigint; client_errors: bigint; server_errors: bigint; avg_ms: number | null; p95_ms: number | null }>>(Prisma.sql`
        SELECT count(*) AS total,
               count(*) FILTER (WHERE "statusCode" < 300) AS ok,
               count(*) FILTER (WHERE "statusCode" >= 300 AND "statusCode" < 400) AS redirects,
               count(*) FILTER (WHERE "statusCode" >= 400 AND "statusCode" < 500) AS client_errors,
               count(*) FILTER (WHERE "statusCode" >= 500) AS server_errors,
               avg("responseTime") AS avg_ms,
               percentile_cont(0.95) WITHIN GROUP (ORDER BY "responseTime") AS p95_ms
        FROM "AnalyticsRequest" WHERE "timestamp" >= ${since}`),
      prisma.analyticsRequest.groupBy({
        by: ["endpoint"],
        where: { timestamp: { gte: since } },
        _count: { _all: true },
        orderBy: { _count: { endpoint: "desc" } },
        take: 10,
      }),
      prisma.analyticsRequest.groupBy({
        by: ["oauthError"],
        where: { timestamp: { gte: since }, oauthError: { not: null } },
        _count: { _all: true },
        orderBy: { _count: { oauthError: "desc" } },
        take: 10,
      }),
      prisma.analyticsSecurity.groupBy({
        by: ["eventType", "severity"],
        where: { timestamp: { gte: since } },
        _count: { _all: true },
      }),
      prisma.accessToken.count({ where: { createdAt: { gte: since } } }),
      prisma.client.count(),
      prisma.user.count(),
      prisma.grant.count({ where: { revokedAt: null } }),
    ]);
    const row = traffic[0];
    const round = (value: number | null | undefined) => (value == null ? null : Math.round(Number(value) * 100) / 100);
    return {
      window: { hours, since: since.toISOString() },
      requests: {
        total: Number(row?.total ?? 0),
        ok: Number(row?.ok ?? 0),
        redirects: Number(row?.redirects ?? 0),
        clientErrors: Number(row?.client_errors ?? 0),
        serverErrors: Number(row?.server_errors ?? 0),
        avgResponseMs: round(row?.avg_ms),
        p95ResponseMs: round(row?.p95_ms),
      },
      topEndpoints: endpoints.map((e) => ({ endpoint: e.endpoint, requests: e._count._all })),
      oauthErrors: oauthErrors.map((e) => ({ error: e.oauthError, count: e._count._all })),
      securityEvents: security
        .map((e) => ({ type: e.eventType, severity: e.severity, count: e._count._all }))
        .sort((a, b) => b.count - a.count),
      tokensIssued,
      totals: { clients, users, activeGrants },
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
        clientId: event.clientId,
        userId: event.userId,
        ipAddress: event.ipAddress,
        details: event.details ?? null,
        reviewed: Boolean(event.reviewedAt),
      })),
    };
  },
});
