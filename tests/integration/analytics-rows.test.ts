import { randomBytes } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { SecretPrefix, randomSecret } from "../../server/crypto.ts";
import { createDatabase } from "../../server/db/client.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { captureLog, mcpPost, seedAccessToken, type CapturedLog, type SeededToken } from "../observability/support.ts";

/**
 * Health, MCP with a stored token, an admin page with an id in its path and the MCP rate limit, plus a security
 * event that (wrongly) carries a token, then the rows all that left. The real OAuth flow is
 * analytics-oauth-flow.test.ts.
 */
describe("analytics rows: one AnalyticsRequest per request (final status), AnalyticsSecurity per security event", () => {
  let server: TestServer;
  let captured: CapturedLog;
  let seeded: SeededToken;
  const secrets: string[] = [];

  beforeAll(async () => {
    captured = captureLog();
    server = await startTestServer({ RATE_LIMIT_MCP_PER_IP: "6", LOG_LEVEL: "info" }, { log: captured.log });
    seeded = await seedAccessToken(server);
    secrets.push(seeded.token);

    expect((await fetch(`${server.url}/api/health`)).status).toBe(200);
    expect((await mcpPost(server.url, null, "tools/list")).status).toBe(401);
    const call = await mcpPost(server.url, seeded.token, "tools/call", { name: "whoami", arguments: {} });
    expect(call.status).toBe(200);
    const bogus = randomSecret(SecretPrefix.accessToken);
    secrets.push(bogus);
    expect((await mcpPost(server.url, bogus, "tools/call", { name: "whoami", arguments: {} })).status).toBe(401);
    // A token in the query string is refused (and must not be recorded with the path).
    const queryToken = randomSecret(SecretPrefix.accessToken);
    secrets.push(queryToken);
    expect((await fetch(`${server.url}/mcp/mcp?access_token=${queryToken}`, { method: "POST" })).status).toBe(400);
    // An id in the path: the row keeps the route pattern, never the id.
    const id = `id${randomBytes(8).toString("hex")}`;
    secrets.push(id);
    expect((await fetch(`${server.url}/admin/users/${id}`, { redirect: "manual" })).status).toBe(302);
    // MCP per-IP limit is 6 per window and 4 MCP requests went out above: the 7th and 8th are refused.
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await mcpPost(server.url, seeded.token, "tools/list")).status);
    expect(statuses).toEqual([200, 200, 429, 429]);

    // Defence in depth: an event that carries a token by mistake must not put it in a row.
    const leaked = randomSecret(SecretPrefix.refreshToken);
    secrets.push(leaked);
    server.services.events.security({
      clientId: seeded.clientDbId,
      userId: seeded.userId,
      ip: "203.0.113.7",
      userAgent: "test-agent",
      type: "TOKEN_REUSE",
      severity: "high",
      details: { grantId: seeded.grantId, refresh_token: leaked, note: `presented ${leaked} again` },
    });
    await server.services.analytics.flush();
  });

  it("records every request with method, route pattern, the status sent, duration, client, user, IP and user agent", async () => {
    const rows = await server.services.prisma.analyticsRequest.findMany({ orderBy: [{ timestamp: "asc" }, { id: "asc" }] });
    // Rate-limited rows are checked for their route in their own test below.
    const seen = rows.map((r) => (r.statusCode === 429 ? `${r.method} (limited) 429` : `${r.method} ${r.endpoint} ${r.statusCode}`));
    expect(seen).toEqual([
      "GET /api/health 200",
      "POST /mcp/mcp 401",
      "POST /mcp/mcp 200",
      "POST /mcp/mcp 401",
      "POST /mcp/mcp 400",
      "GET /admin/users/:id 302",
      "POST /mcp/mcp 200",
      "POST /mcp/mcp 200",
      "POST (limited) 429",
      "POST (limited) 429",
    ]);
    const ok = rows.filter((r) => r.endpoint === "/mcp/mcp" && r.statusCode === 200);
    for (const row of ok) {
      expect(row).toMatchObject({ clientId: seeded.clientDbId, userId: seeded.userId, ipAddress: "127.0.0.1", userAgent: "node" });
      expect(row.responseTime).toBeGreaterThan(0);
    }
    expect(rows.find((r) => r.statusCode === 401 && r.oauthError === "invalid_token")).toBeDefined();
    expect(rows.filter((r) => r.statusCode === 429).every((r) => r.oauthError === "rate_limit_exceeded")).toBe(true);
    // Arrival times, in order, within the test's lifetime.
    for (const row of rows) expect(Date.now() - row.timestamp.getTime()).toBeLessThan(60_000);
  });

  it("names rate-limited requests (429 from the per-IP limiter) by their route pattern, not `unmatched`", async () => {
    const limited = await server.services.prisma.analyticsRequest.findMany({ where: { statusCode: 429 } });
    expect(limited).toHaveLength(2);
    expect(limited.map((r) => r.endpoint)).toEqual(["/mcp/mcp", "/mcp/mcp"]);
  });

  it("records security events: INVALID_TOKEN, one RATE_LIMIT_EXCEEDED for the window, TOKEN_REUSE", async () => {
    const rows = await server.services.prisma.analyticsSecurity.findMany({ orderBy: { timestamp: "asc" } });
    const types = rows.map((r) => r.eventType);
    expect(types.filter((t) => t === "INVALID_TOKEN").length).toBeGreaterThanOrEqual(2);
    expect(types.filter((t) => t === "RATE_LIMIT_EXCEEDED")).toHaveLength(1);
    const reuse = rows.find((r) => r.eventType === "TOKEN_REUSE")!;
    expect(reuse).toMatchObject({ severity: "high", clientId: seeded.clientDbId, userId: seeded.userId, ipAddress: "203.0.113.7" });
    expect(reuse.details).toEqual({ grantId: seeded.grantId, refresh_token: "[redacted]", note: "presented [redacted] again" });
  });

  it("never stores or logs a token, a secret or a raw path id (every column, every log line)", async () => {
    const requests = await server.services.prisma.analyticsRequest.findMany();
    const security = await server.services.prisma.analyticsSecurity.findMany();
    const stored = JSON.stringify([requests, security]);
    const logged = captured.lines.join("\n");
    expect(captured.lines.length).toBeGreaterThan(5);
    for (const secret of secrets) {
      expect(stored).not.toContain(secret);
      expect(logged).not.toContain(secret);
    }
    expect(stored).not.toMatch(/mcp(at|rt|ac|cs|ss)_[A-Za-z0-9_-]{8,}/);
  });

  it("counts the same traffic in the metrics", async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toMatch(/http_server_request_duration_seconds_count\{method="POST",route="[^"]+",status="429"\} 2/);
    expect(text).toMatch(/rate_limited_requests_total\{endpoint="mcp",key="ip"\} 2/);
    expect(text).toMatch(/security_events_total\{type="TOKEN_REUSE",severity="high"\} 1/);
    expect(text).toMatch(/oauth_refresh_token_reuse_total\{outcome="revoked"\} 1/);
    expect(text).toMatch(/mcp_tool_calls_total\{tool="whoami",outcome="ok"\} 1/);
    expect(text).toMatch(/analytics_rows_written_total\{table="AnalyticsRequest"\} 10/);
  });
});

describe("analytics writes: never on the request path, bounded, flushed at shutdown", () => {
  it("writes what is buffered when the server shuts down (no explicit flush)", async () => {
    const server = await startTestServer({}, { autoClose: false });
    for (let i = 0; i < 5; i++) await fetch(`${server.url}/api/health`);
    await server.close(2_000);
    const db = createDatabase(server.database.url);
    try {
      expect(await db.prisma.analyticsRequest.count({ where: { endpoint: "/api/health" } })).toBe(5);
    } finally {
      await db.close();
      await server.database.drop();
    }
  });

  it("ANALYTICS_ENABLED=false records no rows but still counts metrics", async () => {
    const server = await startTestServer({ ANALYTICS_ENABLED: "false" });
    expect(server.services.analytics.recorder).toBeUndefined();
    for (let i = 0; i < 3; i++) await fetch(`${server.url}/api/health`);
    await server.services.analytics.flush();
    expect(await server.services.prisma.analyticsRequest.count()).toBe(0);
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toMatch(/http_server_request_duration_seconds_count\{method="GET",route="\/api\/health",status="200"\} 3/);
  });

  it("answers requests at full speed while the database refuses analytics writes; failed rows are retried then dropped and counted", async () => {
    const server = await startTestServer();
    const recorder = server.services.analytics.recorder!;
    // Make every write fail the way a dead database does (the pool refuses to hand out connections).
    const { pool } = server.services.db;
    const original = pool.connect.bind(pool);
    let failing = true;
    (pool as unknown as { connect: unknown }).connect = (...args: unknown[]) => {
      if (!failing) return (original as (...a: unknown[]) => unknown)(...args);
      const error = new Error("connection refused (test)");
      const callback = args.at(-1);
      if (typeof callback === "function") return void setImmediate(() => callback(error));
      return Promise.reject(error);
    };
    try {
      const started = performance.now();
      const scrapes: string[] = [];
      for (let i = 0; i < 4; i++) scrapes.push(await (await fetch(`${server.url}/metrics`)).text());
      expect(performance.now() - started).toBeLessThan(2_000);
      // The scrape-time probe reports the database down (what the DatabaseDown alert watches).
      expect(scrapes[0]).toMatch(/^database_up 0$/m);
      expect(recorder.size).toBeGreaterThanOrEqual(4);
      for (let i = 0; i < 3; i++) await recorder.flush();
      expect(recorder.size).toBe(0);
    } finally {
      failing = false;
    }
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(Number(/analytics_dropped_total\{table="AnalyticsRequest",reason="write_failed"\} (\d+)/.exec(text)?.[1])).toBeGreaterThanOrEqual(4);
    expect(Number(/analytics_flush_errors_total (\d+)/.exec(text)?.[1])).toBeGreaterThanOrEqual(3);
  });
});
