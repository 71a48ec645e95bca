import { beforeAll, describe, expect, it } from "vitest";
import { HttpSession } from "../helpers/http-session.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { seedAccessToken } from "../observability/support.ts";

const ADMIN = "admin@example.com";

let server: TestServer;
let admin: HttpSession;
let user: HttpSession;

beforeAll(async () => {
  server = await startTestServer({ AUTH_DEV_LOGIN: "true", ADMIN_EMAILS: ADMIN });
  admin = new HttpSession(server.url);
  expect((await admin.devSignIn(ADMIN)).status).toBe(302);
  user = new HttpSession(server.url);
  expect((await user.devSignIn("someone@example.com")).status).toBe(302);
  for (let i = 0; i < 5; i++) await fetch(`${server.url}/api/health`);
  server.services.events.security({ type: "INVALID_CLIENT", severity: "medium", ip: "198.51.100.1", details: { reason: "unknown" } });
  server.services.events.security({ type: "PKCE_FAILURE", severity: "high", ip: "198.51.100.2" });
  await server.services.analytics.flush();
});

describe("GET /api/analytics and /api/analytics/security: administrators only", () => {
  for (const path of ["/api/analytics", "/api/analytics/security"]) {
    it(`${path}: anonymous 401, non-admin 403, as JSON with no-store`, async () => {
      const anonymous = await fetch(`${server.url}${path}`);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get("content-type")).toMatch(/^application\/json/);
      expect(anonymous.headers.get("cache-control")).toBe("no-store");
      expect(await anonymous.json()).toMatchObject({ error: "unauthorized" });
      const forbidden = await user.fetch(path);
      expect(forbidden.status).toBe(403);
      expect(await forbidden.json()).toMatchObject({ error: "forbidden" });
    });
  }

  it("lists request rows newest first with a summary of the range, paginated by cursor", async () => {
    const first = await admin.fetch("/api/analytics?limit=2&endpoint=/api/health");
    expect(first.status).toBe(200);
    const page1 = (await first.json()) as {
      summary: { requests: number; p95Ms: number; errorRate: number; topEndpoints: Array<{ endpoint: string }> };
      requests: Array<{ id: string; endpoint: string; statusCode: number; timestamp: string }>;
      nextCursor: string | null;
    };
    expect(page1.requests).toHaveLength(2);
    expect(page1.requests.every((r) => r.endpoint === "/api/health" && r.statusCode === 200)).toBe(true);
    expect(page1.summary.requests).toBeGreaterThanOrEqual(5);
    expect(page1.summary.p95Ms).toBeGreaterThan(0);
    expect(page1.summary.topEndpoints.map((e) => e.endpoint)).toContain("/api/health");
    expect(page1.nextCursor).toBe(page1.requests[1].id);

    const ids = new Set(page1.requests.map((r) => r.id));
    let cursor = page1.nextCursor;
    let pages = 1;
    while (cursor) {
      const next = (await (await admin.fetch(`/api/analytics?limit=2&endpoint=/api/health&cursor=${cursor}`)).json()) as typeof page1;
      expect(next.summary).toBeUndefined();
      for (const row of next.requests) {
        expect(ids.has(row.id)).toBe(false);
        ids.add(row.id);
      }
      cursor = next.nextCursor;
      pages += 1;
    }
    expect(ids.size).toBe(5);
    expect(pages).toBe(3);
  });

  it("filters by time range: a range in the past is empty", async () => {
    const res = await admin.fetch("/api/analytics?from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z");
    const body = (await res.json()) as { requests: unknown[]; summary: { requests: number }; range: { from: string } };
    expect(body.requests).toEqual([]);
    expect(body.summary.requests).toBe(0);
    expect(body.range.from).toBe("2020-01-01T00:00:00.000Z");
  });

  it("refuses bad parameters with 400 invalid_request", async () => {
    for (const query of ["limit=0", "limit=501", "from=yesterday", "cursor=not-a-uuid", "status=600", "to=999999999999999", "from=999999999999999", "to=9999-12-31T23:59:59Z&from=999999999999999"]) {
      const res = await admin.fetch(`/api/analytics?${query}`);
      expect(res.status, query).toBe(400);
      expect(await res.json()).toMatchObject({ error: "invalid_request" });
    }
    // The far ends of what it accepts are answered, not a 500.
    for (const query of ["to=9999-12-31T23:59:59Z", "from=0000000000&to=253402300799999", "from=9999-12-31T23:00:00Z&to=9999-12-31T23:59:59.999Z"]) {
      expect((await admin.fetch(`/api/analytics?${query}`)).status, query).toBe(200);
      expect((await admin.fetch(`/api/analytics/security?${query}`)).status, query).toBe(200);
    }
  });

  it("lists security events with counts by type and severity", async () => {
    const res = await admin.fetch("/api/analytics/security?severity=high");
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      events: Array<{ eventType: string; severity: string; ipAddress: string }>;
      summary: { total: number; byType: Array<{ type: string; count: number }>; bySeverity: Array<{ severity: string }> };
    };
    expect(body.events.map((e) => e.eventType)).toEqual(["PKCE_FAILURE"]);
    expect(body.summary.byType).toEqual(
      expect.arrayContaining([
        { type: "PKCE_FAILURE", count: 1 },
        { type: "INVALID_CLIENT", count: 1 },
      ]),
    );
    expect(body.summary.bySeverity.map((s) => s.severity)).toEqual(["high", "medium"]);
  });
});

describe("POST /api/analytics/collect: signed-in administrators or a bearer with mcp:admin", () => {
  const event = { endpoint: "/admin/clients", method: "GET", statusCode: 200, responseTime: 42.5, ipAddress: "10.9.9.9" };
  const post = (session: HttpSession | null, body: unknown, headers: Record<string, string> = {}) => {
    const init = { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) };
    return session ? session.fetch("/api/analytics/collect", init) : fetch(`${server.url}/api/analytics/collect`, init);
  };

  it("anonymous 401 (with a Bearer challenge), non-admin 403", async () => {
    const anonymous = await post(null, event);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toMatch(/^Bearer realm="analytics"/);
    expect((await post(user, event)).status).toBe(403);
  });

  it("accepts the original's request shape from an admin session; records the caller's IP, not the body's", async () => {
    const res = await post(admin, event);
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ accepted: 1, recording: true });
    await server.services.analytics.flush();
    const row = await server.services.prisma.analyticsRequest.findFirst({ where: { endpoint: "/admin/clients", responseTime: 42.5 } });
    expect(row).toMatchObject({ method: "GET", statusCode: 200, ipAddress: "127.0.0.1" });
  });

  it("accepts a batch of security events from a bearer token with the mcp:admin scope of an admin", async () => {
    const seeded = await seedAccessToken(server, { role: "ADMIN", scope: "mcp:tools mcp:admin" });
    const res = await post(
      null,
      { events: [{ type: "security", eventType: "SUSPICIOUS_ACTIVITY", severity: "medium", details: { note: "from the UI", password: "x" } }] },
      { authorization: `Bearer ${seeded.token}` },
    );
    expect(res.status).toBe(202);
    await server.services.analytics.flush();
    const row = await server.services.prisma.analyticsSecurity.findFirst({ where: { eventType: "SUSPICIOUS_ACTIVITY" } });
    expect(row).toMatchObject({ severity: "medium", userId: seeded.userId });
    expect(row!.details).toEqual({ note: "from the UI", password: "[redacted]", source: "collect" });
  });

  it("refuses bearer tokens without mcp:admin (403 insufficient_scope), of a non-admin, or unknown (401 invalid_token)", async () => {
    const tools = await seedAccessToken(server, { role: "ADMIN", scope: "mcp:tools" });
    const res = await post(null, event, { authorization: `Bearer ${tools.token}` });
    expect(res.status).toBe(403);
    expect(res.headers.get("www-authenticate")).toMatch(/error="insufficient_scope"/);
    const demoted = await seedAccessToken(server, { role: "USER", scope: "mcp:admin" });
    expect((await post(null, event, { authorization: `Bearer ${demoted.token}` })).status).toBe(403);
    const unknown = await post(null, event, { authorization: "Bearer mcpat_unknownunknownunknown" });
    expect(unknown.status).toBe(401);
    expect(unknown.headers.get("www-authenticate")).toMatch(/error="invalid_token"/);
    const otherAudience = await seedAccessToken(server, { role: "ADMIN", scope: "mcp:admin", resource: "https://elsewhere.example/mcp" });
    expect((await post(null, event, { authorization: `Bearer ${otherAudience.token}` })).status).toBe(401);
  });

  it("validates: 415 for non-JSON, 400 for bad events or more than 100, 413 above 64 KB", async () => {
    const form = await admin.fetch("/api/analytics/collect", { method: "POST", headers: { "content-type": "text/plain" }, body: "x" });
    expect(form.status).toBe(415);
    expect((await post(admin, { ...event, statusCode: 700 })).status).toBe(400);
    expect((await post(admin, { ...event, endpoint: "no-slash" })).status).toBe(400);
    expect((await post(admin, Array.from({ length: 101 }, () => event))).status).toBe(400);
    const broken = await admin.fetch("/api/analytics/collect", { method: "POST", headers: { "content-type": "application/json" }, body: "{" });
    expect(broken.status).toBe(400);
    // Over 64 KB in values of a length the host accepts (one over 8192 characters is its 400: server/http/input-guard.ts).
    const huge = await post(admin, { ...event, ...Object.fromEntries(Array.from({ length: 70 }, (_, i) => [`padding${i}`, "x".repeat(1024)])) });
    expect(huge.status).toBe(413);
    expect((await admin.fetch("/api/analytics/collect")).status).toBe(405);
  });
});
