import pg from "pg";
import { describe, expect, it } from "vitest";
import { LabelGuard, methodLabel, oauthErrorLabel, statusLabel } from "../../server/analytics/labels.ts";
import { createMetrics } from "../../server/analytics/metrics.ts";
import { analyticsOverview, tokensIssued } from "../../server/analytics/summaries.ts";
import { resolveRange } from "../../server/analytics/time-range.ts";
import { AnalyticsRecorder, type RequestRow } from "../../server/analytics/recorder.ts";
import { cleanDetails, cleanText } from "../../server/analytics/sanitize.ts";
import { SecretPrefix, randomSecret } from "../../server/crypto.ts";
import { createLogger } from "../../server/logger.ts";
import { startTestServer } from "../helpers/server.ts";
import { parseExposition, sampleValue } from "../observability/support.ts";

const row = (i: number, at = new Date()): RequestRow => ({
  timestamp: at,
  method: "GET",
  endpoint: "/api/health",
  statusCode: 200,
  responseTime: i,
});

describe("the batched writer", () => {
  it("drops and counts rows beyond its capacity instead of growing; writes the rest in one batch", async () => {
    const server = await startTestServer({ ANALYTICS_ENABLED: "false" });
    const metrics = createMetrics({
      pool: server.services.db.pool,
      probeDatabase: async () => ({ up: true }),
      version: "t",
      nodeDefaults: false,
      // Read at scrape time, after `recorder` exists.
      bufferedRows: () => recorder.size,
    });
    const recorder = new AnalyticsRecorder({ pool: server.services.db.pool, metrics, log: createLogger("silent"), capacity: 5, batchSize: 1_000, flushIntervalMs: 60_000 });
    for (let i = 0; i < 8; i++) recorder.recordRequest(row(i));
    expect(recorder.size).toBe(5);
    const before = parseExposition(await metrics.registry.metrics()).samples;
    expect(sampleValue(before, "analytics_dropped_total", { table: "AnalyticsRequest", reason: "buffer_full" })).toBe(3);
    expect(sampleValue(before, "analytics_buffer_rows")).toBe(5);
    await recorder.flush();
    expect(await server.services.prisma.analyticsRequest.count()).toBe(5);
    const after = parseExposition(await metrics.registry.metrics()).samples;
    expect(sampleValue(after, "analytics_buffer_rows")).toBe(0);
    expect(sampleValue(after, "analytics_rows_written_total", { table: "AnalyticsRequest" })).toBe(5);
    expect(sampleValue(after, "analytics_flush_duration_seconds_count")).toBe(1);
    await recorder.close();
  });

  it("writes as soon as a batch is full, without waiting for the timer", async () => {
    const server = await startTestServer({ ANALYTICS_ENABLED: "false" });
    const metrics = createMetrics({ pool: server.services.db.pool, probeDatabase: async () => ({ up: true }), version: "t", nodeDefaults: false });
    const recorder = new AnalyticsRecorder({ pool: server.services.db.pool, metrics, log: createLogger("silent"), batchSize: 10, flushIntervalMs: 60_000 });
    for (let i = 0; i < 10; i++) recorder.recordRequest(row(i));
    const deadline = Date.now() + 3_000;
    while ((await server.services.prisma.analyticsRequest.count()) < 10 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(await server.services.prisma.analyticsRequest.count()).toBe(10);
    await recorder.close();
  });

  it("stores exact UTC timestamps whatever the session time zone, with UUIDv7 ids", async () => {
    const server = await startTestServer({ ANALYTICS_ENABLED: "false" });
    // A pool whose sessions run in another time zone than UTC.
    const pool = new pg.Pool({ connectionString: server.database.url, options: "-c TimeZone=Asia/Kolkata" });
    try {
      const metrics = createMetrics({ pool, probeDatabase: async () => ({ up: true }), version: "t", nodeDefaults: false });
      const recorder = new AnalyticsRecorder({ pool, metrics, log: createLogger("silent"), flushIntervalMs: 60_000 });
      const at = new Date("2026-03-01T12:34:56.789Z");
      recorder.recordRequest(row(7, at));
      recorder.recordSecurity({ timestamp: at, eventType: "INVALID_TOKEN", severity: "low", details: { quote: 'a "b" \\ c' } });
      await recorder.close();
      const stored = await server.services.prisma.analyticsRequest.findFirstOrThrow();
      expect(stored.timestamp.toISOString()).toBe(at.toISOString());
      expect(stored.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      const event = await server.services.prisma.analyticsSecurity.findFirstOrThrow();
      expect(event.timestamp.toISOString()).toBe(at.toISOString());
      expect(event.details).toEqual({ quote: 'a "b" \\ c' });
    } finally {
      await pool.end();
    }
  });
});

describe("services.analytics.span (tracing off in this process)", () => {
  it("runs the function and passes its result and errors through", async () => {
    const server = await startTestServer({ ANALYTICS_ENABLED: "false" });
    const { analytics } = server.services;
    expect(await analytics.span("oauth.test", { "oauth.step": "x" }, async () => 42)).toBe(42);
    await expect(analytics.span("oauth.test", {}, async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
  });
});

describe("retention (ANALYTICS_RETENTION_DAYS)", () => {
  it("the sweep job deletes rows older than the retention period and keeps newer ones", async () => {
    const server = await startTestServer({ ANALYTICS_RETENTION_DAYS: "7" });
    const { prisma } = server.services;
    const day = 86_400_000;
    await prisma.analyticsRequest.createMany({ data: [row(1, new Date(Date.now() - 8 * day)), row(2, new Date(Date.now() - 6 * day)), row(3)] });
    await prisma.analyticsSecurity.createMany({
      data: [
        { timestamp: new Date(Date.now() - 30 * day), eventType: "INVALID_TOKEN", severity: "low" },
        { timestamp: new Date(), eventType: "INVALID_TOKEN", severity: "low" },
      ],
    });
    expect(await server.services.jobs.run("analytics.retention")).toMatchObject({ requests: 1, security: 1 });
    expect((await prisma.analyticsRequest.findMany({ orderBy: { responseTime: "asc" } })).map((r) => r.responseTime)).toEqual([2, 3]);
    expect(await prisma.analyticsSecurity.count()).toBe(1);
    const samples = parseExposition(await (await fetch(`${server.url}/metrics`)).text()).samples;
    expect(sampleValue(samples, "analytics_retention_deleted_total", { table: "AnalyticsRequest" })).toBe(1);
  });
});

describe("summary queries (server/analytics/summaries.ts)", () => {
  it("summarise requests, tokens issued, clients, users and security events over a range", async () => {
    const server = await startTestServer();
    const { prisma } = server.services;
    const now = Date.now();
    const at = (minutesAgo: number) => new Date(now - minutesAgo * 60_000);
    await prisma.user.create({ data: { id: "u1", email: "u1@example.com" } });
    await prisma.client.create({ data: { id: "c1", clientId: "mcpc_one", name: "One", redirectUris: [], scope: "mcp:tools" } });
    await prisma.analyticsRequest.createMany({
      data: [
        { ...row(10, at(50)), endpoint: "/api/oauth/token", method: "POST", clientId: "c1", userId: "u1" },
        { ...row(20, at(40)), endpoint: "/api/oauth/token", method: "POST", clientId: "c1", userId: "u1" },
        { ...row(30, at(30)), endpoint: "/api/oauth/token", method: "POST", statusCode: 400, oauthError: "invalid_grant", clientId: "c1" },
        { ...row(40, at(20)), endpoint: "/mcp/mcp", method: "POST", statusCode: 500, clientId: "c1", userId: "u1" },
        { ...row(1000, at(200)), endpoint: "/mcp/mcp" },
      ],
    });
    await prisma.analyticsSecurity.createMany({
      data: [
        { timestamp: at(10), eventType: "TOKEN_REUSE", severity: "high" },
        { timestamp: at(5), eventType: "INVALID_TOKEN", severity: "low" },
        { timestamp: at(4), eventType: "INVALID_TOKEN", severity: "low", reviewedAt: new Date() },
      ],
    });
    const range = resolveRange({ from: at(60), to: new Date(now) });
    const overview = await analyticsOverview({ prisma }, range, 600);
    expect(overview.requests).toMatchObject({ requests: 4, serverErrors: 1, clientErrors: 1, errorRate: 0.25, availability: 0.75, uniqueClients: 1, uniqueUsers: 1 });
    expect(overview.requests.p50Ms).toBe(25);
    expect(overview.series.reduce((sum, b) => sum + b.requests, 0)).toBe(4);
    expect(overview.series.length).toBeGreaterThanOrEqual(6);
    expect(overview.tokens.total).toBe(2);
    expect(overview.clients.inRange).toBe(1);
    expect(overview.security).toMatchObject({ total: 3, unreviewed: 2 });
    expect(overview.security.byType).toEqual([
      { type: "INVALID_TOKEN", count: 2 },
      { type: "TOKEN_REUSE", count: 1 },
    ]);
    expect(overview.security.bySeverity.map((s) => s.severity)).toEqual(["high", "low"]);
    // Rows carry the Client row id; the output names the client by its public client_id and name.
    expect(overview.topClients.map((c) => [c.clientDbId, c.clientId, c.name, c.requests, c.errors])).toEqual([["c1", "mcpc_one", "One", 4, 2]]);
    expect(overview.busiestUsers).toMatchObject([{ userId: "u1", email: "u1@example.com", requests: 3 }]);
    expect(overview.topEndpoints.map((e) => e.endpoint)).toEqual(["/api/oauth/token", "/mcp/mcp"]);
    // Outside the range: nothing.
    const before = await tokensIssued({ prisma }, resolveRange({ from: at(600), to: at(300) }));
    expect(before.total).toBe(0);
  });

  it("resolveRange: defaults to the last 24 hours, swaps a reversed range, caps at 400 days", () => {
    const now = Date.now();
    const { from, to } = resolveRange();
    expect(to.getTime()).toBeGreaterThanOrEqual(now);
    expect(to.getTime() - from.getTime()).toBe(24 * 3600_000);
    const swapped = resolveRange({ from: "2024-02-01T00:00:00Z", to: "2024-01-01T00:00:00Z" });
    expect(swapped.from.toISOString()).toBe("2024-01-01T00:00:00.000Z");
    const capped = resolveRange({ from: "2000-01-01T00:00:00Z", to: "2024-01-01T00:00:00Z" });
    expect(capped.to.getTime() - capped.from.getTime()).toBe(400 * 86_400_000);
  });
});

describe("labels and sanitising", () => {
  it("bounds label values", () => {
    expect(methodLabel("PROPFIND")).toBe("OTHER");
    expect(statusLabel(1000)).toBe("0");
    expect(oauthErrorLabel("made_up")).toBe("other");
    const guard = new LabelGuard(2);
    expect([guard.label("a"), guard.label("b"), guard.label("c"), guard.label("a"), guard.label("x y")]).toEqual(["a", "b", "other", "a", "other"]);
  });

  it("masks secret-shaped values and secret-named keys; bounds sizes", () => {
    const token = randomSecret(SecretPrefix.accessToken);
    expect(cleanText(`Bearer ${token}`, 500)).toBe("[redacted]");
    expect(cleanText(`got ${token} twice ${token}`, 500)).toBe("got [redacted] twice [redacted]");
    expect(cleanText("x".repeat(600), 500)).toHaveLength(500);
    expect(cleanText("", 10)).toBeNull();
    // A public client id is not a secret.
    expect(cleanText("mcpc_abcdefghijkl", 100)).toBe("mcpc_abcdefghijkl");
    expect(cleanDetails({ code: "abc", client_secret: "s", nested: { access_token: "t", ok: 1 }, list: Array.from({ length: 30 }, (_, i) => i) })).toEqual({
      code: "[redacted]",
      client_secret: "[redacted]",
      nested: { access_token: "[redacted]", ok: 1 },
      list: Array.from({ length: 20 }, (_, i) => i),
    });
  });
});
