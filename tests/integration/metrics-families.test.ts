import { beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { parseExposition, sampleValue, smokeFlow, type Sample, type SmokeFlow } from "../observability/support.ts";

/** The families issue 7 names, and their Prometheus types. */
const FAMILIES: Record<string, string> = {
  http_server_request_duration_seconds: "histogram",
  oauth_authorization_requests_total: "counter",
  oauth_tokens_issued_total: "counter",
  oauth_token_errors_total: "counter",
  oauth_refresh_token_reuse_total: "counter",
  oauth_refresh_token_rotations_total: "counter",
  oauth_tokens_revoked_total: "counter",
  oauth_clients_registered_total: "counter",
  oauth_active_clients: "gauge",
  oauth_registered_clients: "gauge",
  mcp_requests_total: "counter",
  mcp_tool_calls_total: "counter",
  mcp_tool_duration_seconds: "histogram",
  security_events_total: "counter",
  rate_limited_requests_total: "counter",
  analytics_buffer_rows: "gauge",
  analytics_dropped_total: "counter",
  analytics_rows_written_total: "counter",
  db_pool_connections: "gauge",
  db_pool_max_connections: "gauge",
  db_pool_waiting_requests: "gauge",
  database_up: "gauge",
  app_build_info: "gauge",
  // Node.js defaults (prom-client collectDefaultMetrics)
  process_cpu_seconds_total: "counter",
  process_resident_memory_bytes: "gauge",
  nodejs_eventloop_lag_p99_seconds: "gauge",
  nodejs_heap_size_used_bytes: "gauge",
  nodejs_gc_duration_seconds: "histogram",
};

let server: TestServer;
let flow: SmokeFlow;
let samples: Sample[];
let types: Map<string, string>;

beforeAll(async () => {
  server = await startTestServer({ AUTH_DEV_LOGIN: "true", RATE_LIMIT_MCP_PER_IP: "4" });
  flow = await smokeFlow(server);
  ({ samples, types } = parseExposition(flow.metricsText));
});

describe("GET /metrics after a smoke flow", () => {
  it("exposes every family with its type", () => {
    for (const [family, type] of Object.entries(FAMILIES)) expect(types.get(family), family).toBe(type);
  });

  it("counts HTTP requests by method, route pattern and the status sent; buckets are cumulative", () => {
    const count = (route: string, status: string) =>
      sampleValue(samples, "http_server_request_duration_seconds_count", { method: "POST", route, status });
    expect(sampleValue(samples, "http_server_request_duration_seconds_count", { method: "GET", route: "/api/health", status: "200" })).toBe(1);
    expect(count("/mcp/mcp", "401")).toBe(2);
    expect(count("/mcp/mcp", "200")).toBe(2);
    const series = samples.filter(
      (s) => s.name === "http_server_request_duration_seconds_bucket" && s.labels.route === "/mcp/mcp" && s.labels.status === "200",
    );
    const values = series.map((s) => s.value);
    expect(values).toEqual([...values].sort((a, b) => a - b));
    expect(series.find((s) => s.labels.le === "+Inf")?.value).toBe(2);
    const sum = sampleValue(samples, "http_server_request_duration_seconds_sum", { method: "POST", route: "/mcp/mcp", status: "200" })!;
    expect(sum).toBeGreaterThan(0);
    expect(sum).toBeLessThan(10);
  });

  it("counts the OAuth flow: funnel, tokens by grant type, errors by code, reuse, registrations, active clients", () => {
    expect(sampleValue(samples, "oauth_authorization_requests_total", { outcome: "consent_shown" })).toBe(1);
    expect(sampleValue(samples, "oauth_authorization_requests_total", { outcome: "approved" })).toBe(1);
    expect(sampleValue(samples, "oauth_authorization_requests_total", { outcome: "denied" })).toBe(0);
    expect(sampleValue(samples, "oauth_tokens_issued_total", { grant_type: "authorization_code" })).toBe(1);
    expect(sampleValue(samples, "oauth_tokens_issued_total", { grant_type: "refresh_token" })).toBe(1);
    const errors = samples.filter((s) => s.name === "oauth_token_errors_total");
    expect(errors.filter((s) => s.labels.error === "invalid_grant").reduce((sum, s) => sum + s.value, 0)).toBe(1);
    expect(sampleValue(samples, "oauth_refresh_token_rotations_total")).toBe(1);
    expect(sampleValue(samples, "oauth_refresh_token_reuse_total", { outcome: "revoked" })).toBe(1);
    expect(sampleValue(samples, "oauth_refresh_token_reuse_total", { outcome: "grace" })).toBe(0);
    expect(sampleValue(samples, "oauth_tokens_revoked_total", { kind: "grant" })).toBeGreaterThanOrEqual(1);
    expect(sampleValue(samples, "oauth_clients_registered_total", { kind: "dynamic" })).toBe(1);
    // Computed from the database at scrape time: the seeded client holds a live token; the flow's family was revoked.
    expect(sampleValue(samples, "oauth_active_clients")).toBe(1);
    expect(sampleValue(samples, "oauth_registered_clients", { kind: "dynamic" })).toBe(2);
  });

  it("counts MCP requests, tool calls and their duration, security events and rate limiting", () => {
    expect(sampleValue(samples, "mcp_requests_total", { transport: "streamable-http", method: "tools/call", status: "200" })).toBe(1);
    // Refused before the body is read: the JSON-RPC method is not known yet.
    expect(sampleValue(samples, "mcp_requests_total", { transport: "streamable-http", method: "none", status: "401" })).toBe(2);
    expect(sampleValue(samples, "mcp_tool_calls_total", { tool: "whoami", outcome: "ok" })).toBe(1);
    expect(sampleValue(samples, "mcp_tool_duration_seconds_count", { tool: "whoami" })).toBe(1);
    expect(sampleValue(samples, "security_events_total", { type: "INVALID_TOKEN", severity: "low" })).toBe(1);
    const reuse = samples.filter((s) => s.name === "security_events_total" && s.labels.type === "TOKEN_REUSE");
    expect(reuse.reduce((sum, s) => sum + s.value, 0)).toBe(1);
    expect(sampleValue(samples, "security_events_total", { type: "RATE_LIMIT_EXCEEDED", severity: "medium" })).toBe(1);
    expect(sampleValue(samples, "rate_limited_requests_total", { endpoint: "mcp", key: "ip" })).toBe(2);
  });

  it("reports the analytics writer, the database pool and the database as sensible numbers", async () => {
    expect(sampleValue(samples, "analytics_buffer_rows")).toBe(0);
    expect(sampleValue(samples, "analytics_dropped_total", { table: "AnalyticsRequest", reason: "buffer_full" })).toBe(0);
    const rows = await server.services.prisma.analyticsRequest.count();
    expect(rows).toBeGreaterThan(10);
    // Written before the scrape (the scrape itself is recorded after it answered).
    expect(sampleValue(samples, "analytics_rows_written_total", { table: "AnalyticsRequest" })).toBe(rows);
    expect(sampleValue(samples, "database_up")).toBe(1);
    expect(sampleValue(samples, "db_pool_max_connections")).toBe(10);
    const used = sampleValue(samples, "db_pool_connections", { state: "used" })!;
    const idle = sampleValue(samples, "db_pool_connections", { state: "idle" })!;
    expect(used + idle).toBeGreaterThan(0);
    expect(used + idle).toBeLessThanOrEqual(10);
    expect(sampleValue(samples, "process_resident_memory_bytes")).toBeGreaterThan(10_000_000);
  });

  it("has no unbounded label: no client id, user id, IP address or raw path in any label value", () => {
    const forbidden = [flow.seeded.clientId, flow.seeded.clientDbId, flow.seeded.userId, flow.seeded.grantId, flow.clientId, flow.userId, "127.0.0.1"];
    expect(flow.userId).not.toBe("");
    for (const sample of samples) {
      for (const value of Object.values(sample.labels)) {
        for (const bad of forbidden) expect(value, `${sample.name} ${JSON.stringify(sample.labels)}`).not.toContain(bad);
      }
      expect(Object.keys(sample.labels)).not.toEqual(expect.arrayContaining(["client_id"]));
    }
    const routes = new Set(samples.filter((s) => s.labels.route).map((s) => s.labels.route));
    expect([...routes]).toEqual(expect.arrayContaining(["/api/health", "/mcp/mcp", "/api/oauth/token", "/oauth/authorize"]));
    // Route patterns of the app (or `unmatched`), never a path that carries a value.
    for (const route of routes) expect(route).toMatch(/^(\/[A-Za-z0-9._/:$*-]*|unmatched)$/);
  });
});
