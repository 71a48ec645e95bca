import { beforeAll, describe, expect, it } from "vitest";
import { codeOf, startAdminHarness, type Person, type TrpcHarness } from "./harness.ts";

let h: TrpcHarness;
let admin: Person;
const now = Date.now();
const ago = (minutes: number) => new Date(now - minutes * 60_000);

beforeAll(async () => {
  ({ h, admin } = await startAdminHarness());
  const client = await h.services.prisma.client.create({
    data: { clientId: "mcpc_dash", name: "Dashboard client", scope: "mcp:tools", redirectUris: ["https://d.example/cb"] },
  });
  // Rows as server/analytics writes them: 10 requests in the last hour, 2 of them 5xx and 1 a 4xx; 3 tokens issued.
  const recent = Array.from({ length: 10 }, (_, i) => ({
    timestamp: ago(5 + i),
    method: "POST",
    endpoint: i < 3 ? "/api/oauth/token" : "/mcp/mcp",
    statusCode: i < 3 ? 200 : i < 5 ? 500 : i === 5 ? 401 : 200,
    responseTime: (i + 1) * 10,
    clientId: client.id,
  }));
  // And 5 older ones, two days ago (inside 7d, outside 24h).
  const older = Array.from({ length: 5 }, (_, i) => ({
    timestamp: ago(60 * 48 + i),
    method: "GET",
    endpoint: "/api/health",
    statusCode: 200,
    responseTime: 1,
  }));
  await h.services.prisma.analyticsRequest.createMany({ data: [...recent, ...older] });
  await h.services.prisma.analyticsSecurity.createMany({
    data: [
      { timestamp: ago(10), eventType: "TOKEN_REUSE", severity: "high", clientId: client.id },
      { timestamp: ago(20), eventType: "INVALID_TOKEN", severity: "low" },
      { timestamp: ago(60 * 48), eventType: "INVALID_TOKEN", severity: "low" },
    ],
  });
});

describe("analytics.summary", () => {
  it("summarises the last 24 hours by default", async () => {
    const summary = await admin.caller.analytics.summary({});
    expect(summary.requests).toMatchObject({ requests: 10, serverErrors: 2, clientErrors: 1, errorRate: 0.2 });
    expect(summary.requests.p50Ms).toBeGreaterThan(0);
    expect(summary.requests.p99Ms).toBeGreaterThanOrEqual(summary.requests.p95Ms!);
    expect(summary.tokensIssued).toBe(3);
    expect(summary.clients.inRange).toBe(1);
    expect(summary.security).toMatchObject({ total: 2, unreviewed: 2 });
    expect(summary.topClients[0]).toMatchObject({ name: "Dashboard client", requests: 10 });
    expect(summary.range.to.getTime() - summary.range.from.getTime()).toBe(24 * 3600_000);
  });

  it("names the busiest clients through Client: public client_id, name and row id", async () => {
    const client = await h.services.prisma.client.findUniqueOrThrow({ where: { clientId: "mcpc_dash" } });
    // MCP and OAuth requests alike record the Client row id (server/events.ts EventOrigin).
    await h.services.prisma.analyticsRequest.createMany({
      data: [1, 2].map((i) => ({ timestamp: ago(i), method: "POST", endpoint: "/mcp/mcp", statusCode: 200, responseTime: 5, clientId: client.id })),
    });
    const summary = await admin.caller.analytics.summary({});
    expect(summary.topClients).toEqual([
      expect.objectContaining({ name: "Dashboard client", clientDbId: client.id, clientId: "mcpc_dash", requests: 12 }),
    ]);
    await h.services.prisma.analyticsRequest.deleteMany({ where: { endpoint: "/mcp/mcp", responseTime: 5 } });
  });

  it("leaves static files out of the busiest endpoints (they still count in the totals)", async () => {
    const asset = (endpoint: string, i: number) => ({ timestamp: ago(1 + i / 100), method: "GET", endpoint, statusCode: 200, responseTime: 0.5 });
    await h.services.prisma.analyticsRequest.createMany({
      data: [...Array.from({ length: 30 }, (_, i) => asset("/build/*", i)), ...Array.from({ length: 20 }, (_, i) => asset("static", i))],
    });
    try {
      const summary = await admin.caller.analytics.summary({});
      expect(summary.requests.requests).toBe(60);
      expect(summary.topEndpoints.map((e) => e.endpoint)).toEqual(["/mcp/mcp", "/api/oauth/token"]);
    } finally {
      await h.services.prisma.analyticsRequest.deleteMany({ where: { responseTime: 0.5 } });
    }
  });

  it("follows the chosen range", async () => {
    expect((await admin.caller.analytics.summary({ range: "7d" })).requests.requests).toBe(15);
    expect((await admin.caller.analytics.summary({ range: "7d" })).security.total).toBe(3);
    const window = await admin.caller.analytics.summary({ from: ago(60 * 49), to: ago(60 * 47) });
    expect(window.requests.requests).toBe(5);
  });

  it("refuses an unknown preset and an inverted range", async () => {
    expect(await codeOf(admin.caller.analytics.summary({ range: "1y" as "7d" }))).toBe("BAD_REQUEST");
    expect(await codeOf(admin.caller.analytics.summary({ from: ago(1), to: ago(10) }))).toBe("BAD_REQUEST");
    expect(await codeOf(admin.caller.analytics.summary({ to: new Date(8.64e15) }))).toBe("BAD_REQUEST");
    expect(await codeOf(admin.caller.analytics.summary({ from: new Date(-62198755200000) }))).toBe("BAD_REQUEST");
  });
});

describe("analytics.timeSeries", () => {
  it("returns evenly spaced buckets covering the range, with the totals of the summary", async () => {
    const series = await admin.caller.analytics.timeSeries({ range: "1h" });
    expect(series.bucketSeconds).toBe(60);
    expect(series.requests.length).toBeGreaterThanOrEqual(60);
    expect(series.requests.reduce((n, b) => n + b.requests, 0)).toBe(10);
    expect(series.requests.reduce((n, b) => n + b.serverErrors, 0)).toBe(2);
    expect(series.tokens.reduce((n, b) => n + b.count, 0)).toBe(3);
    expect(series.security.reduce((n, b) => n + b.high + b.low, 0)).toBe(2);
    expect(series.requests[0].start).toBeInstanceOf(Date);
  });
});
