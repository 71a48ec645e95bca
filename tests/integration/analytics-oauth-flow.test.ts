import { beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { captureLog, mcpPost, parseExposition, sampleValue, type CapturedLog, type Sample } from "../observability/support.ts";
import { REDIRECT, obtainCode, publicClient, register, signIn, tokenRequest, type RegisteredClient } from "./oauth-support.ts";

/**
 * The whole path a real MCP client takes (RFC 7591 registration, RFC 6749 §4.1 authorization with PKCE and consent,
 * the token endpoint, MCP calls, OAuth 2.1 §4.3.1 refresh rotation and a replayed refresh token), then what
 * analytics made of it: rows with the statuses actually sent, security events, metrics, and no secret anywhere.
 */
describe("analytics of a real OAuth + MCP flow", () => {
  let server: TestServer;
  let captured: CapturedLog;
  let client: RegisteredClient;
  let samples: Sample[];
  const secrets: string[] = [];

  beforeAll(async () => {
    captured = captureLog();
    server = await startTestServer(
      { AUTH_DEV_LOGIN: "true", RATE_LIMIT_TOKEN_PER_IP: "7", LOG_LEVEL: "info" },
      { log: captured.log },
    );
    client = await register(server.url, publicClient());
    const jar = await signIn(server.url, "flow@example.com");
    const { code, verifier } = await obtainCode(server.url, jar, client.client_id);
    secrets.push(code, verifier);

    // A wrong PKCE verifier first (invalid_grant), then the right one.
    const wrong = await tokenRequest(server.url, { grant_type: "authorization_code", code, code_verifier: "x".repeat(43), client_id: client.client_id, redirect_uri: REDIRECT });
    expect(wrong.status).toBe(400);
    const tokens = await tokenRequest(server.url, { grant_type: "authorization_code", code, code_verifier: verifier, client_id: client.client_id, redirect_uri: REDIRECT });
    expect(tokens.status, JSON.stringify(tokens.body)).toBe(200);
    const access = tokens.body.access_token as string;
    const refresh = tokens.body.refresh_token as string;
    secrets.push(access, refresh);

    expect((await mcpPost(server.url, access, "tools/call", { name: "whoami", arguments: {} })).status).toBe(200);
    expect((await mcpPost(server.url, null, "tools/list")).status).toBe(401);

    const rotated = await tokenRequest(server.url, { grant_type: "refresh_token", refresh_token: refresh, client_id: client.client_id });
    expect(rotated.status).toBe(200);
    secrets.push(rotated.body.access_token as string, rotated.body.refresh_token as string);
    // The old refresh token again: reuse, the family is revoked.
    const replay = await tokenRequest(server.url, { grant_type: "refresh_token", refresh_token: refresh, client_id: client.client_id });
    expect(replay.status).toBe(400);
    expect((await mcpPost(server.url, rotated.body.access_token as string, "tools/list")).status).toBe(401);
    // Token endpoint per-IP limit is 7: 4 used above, the 8th is refused.
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      statuses.push((await tokenRequest(server.url, { grant_type: "refresh_token", refresh_token: "mcprt_nope", client_id: client.client_id })).status);
    }
    expect(statuses).toEqual([400, 400, 400, 429]);

    await server.services.analytics.flush();
    samples = parseExposition(await (await fetch(`${server.url}/metrics`)).text()).samples;
  });

  it("records each OAuth and MCP request with its route pattern and the status sent", async () => {
    const rows = await server.services.prisma.analyticsRequest.findMany({ orderBy: [{ timestamp: "asc" }, { id: "asc" }] });
    // Not the sign-in page, nor this test's own scrape of /metrics (made after the flush: whether the writer's timer
    // stores it before this reads is a race, seen once in CI).
    const seen = rows.filter((r) => r.endpoint !== "/login" && r.endpoint !== "/metrics").map((r) => `${r.method} ${r.statusCode === 429 ? "(limited)" : r.endpoint} ${r.statusCode}${r.oauthError ? ` ${r.oauthError}` : ""}`);
    expect(seen).toEqual([
      "POST /api/oauth/register 201",
      "GET /oauth/authorize 200",
      "POST /oauth/authorize 302",
      "POST /api/oauth/token 400 invalid_grant",
      "POST /api/oauth/token 200",
      "POST /mcp/mcp 200",
      "POST /mcp/mcp 401",
      "POST /api/oauth/token 200",
      "POST /api/oauth/token 400 invalid_grant",
      "POST /mcp/mcp 401 invalid_token",
      "POST /api/oauth/token 400 invalid_grant",
      "POST /api/oauth/token 400 invalid_grant",
      "POST /api/oauth/token 400 invalid_grant",
      "POST (limited) 429 rate_limit_exceeded",
    ]);
    const user = await server.services.prisma.user.findUniqueOrThrow({ where: { email: "flow@example.com" } });
    const token = rows.filter((r) => r.endpoint === "/api/oauth/token" && r.statusCode === 200);
    expect(token.every((r) => r.clientId !== null && r.userId === user.id)).toBe(true);
    const mcp = rows.find((r) => r.endpoint === "/mcp/mcp" && r.statusCode === 200)!;
    expect(mcp.userId).toBe(user.id);
  });

  it("records the replayed refresh token as a TOKEN_REUSE security event", async () => {
    const events = await server.services.prisma.analyticsSecurity.findMany({ orderBy: { timestamp: "asc" } });
    const types = events.map((e) => e.eventType);
    expect(types).toContain("TOKEN_REUSE");
    expect(types).toContain("INVALID_TOKEN");
    expect(types).toContain("RATE_LIMIT_EXCEEDED");
    const reuse = events.find((e) => e.eventType === "TOKEN_REUSE")!;
    expect(reuse.severity).toMatch(/high|critical/);
    expect(reuse.ipAddress).toBe("127.0.0.1");
  });

  it("counts the flow in the metrics", () => {
    expect(sampleValue(samples, "oauth_clients_registered_total", { kind: "dynamic" })).toBe(1);
    expect(sampleValue(samples, "oauth_authorization_requests_total", { outcome: "consent_shown" })).toBe(1);
    expect(sampleValue(samples, "oauth_authorization_requests_total", { outcome: "approved" })).toBe(1);
    expect(sampleValue(samples, "oauth_tokens_issued_total", { grant_type: "authorization_code" })).toBe(1);
    expect(sampleValue(samples, "oauth_tokens_issued_total", { grant_type: "refresh_token" })).toBe(1);
    expect(sampleValue(samples, "oauth_refresh_token_rotations_total")).toBe(1);
    expect(sampleValue(samples, "oauth_refresh_token_reuse_total", { outcome: "revoked" })).toBe(1);
    // One wrong verifier, one replay, three unknown refresh tokens (the grant type label is what the event carried).
    const invalidGrant = samples.filter((s) => s.name === "oauth_token_errors_total" && s.labels.error === "invalid_grant");
    expect(invalidGrant.reduce((sum, s) => sum + s.value, 0)).toBe(5);
    expect(sampleValue(samples, "mcp_tool_calls_total", { tool: "whoami", outcome: "ok" })).toBe(1);
    expect(sampleValue(samples, "rate_limited_requests_total", { endpoint: "token", key: "ip" })).toBe(1);
    // The family was revoked: no client holds a live token any more.
    expect(sampleValue(samples, "oauth_active_clients")).toBe(0);
  });

  it("never stores or logs a code, verifier, access or refresh token", async () => {
    const stored = JSON.stringify([
      await server.services.prisma.analyticsRequest.findMany(),
      await server.services.prisma.analyticsSecurity.findMany(),
    ]);
    const logged = captured.lines.join("\n");
    expect(secrets.length).toBe(6);
    for (const secret of secrets) {
      expect(stored).not.toContain(secret);
      expect(logged).not.toContain(secret);
    }
  });
});
