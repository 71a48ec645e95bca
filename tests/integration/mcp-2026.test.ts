/**
 * MCP 2026-07-28 on `/mcp/mcp`, next to the 2025 revisions on the same URL (Streamable HTTP §Request Metadata,
 * Versioning, Caching, server/discover; Authorization §Scope Challenge Handling), as raw HTTP: what our pipeline and
 * the SDK answer together. The conformance runner (e2e/real-clients-conformance.test.ts) and the v2 client
 * (e2e/oauth-mcp-sdk-v2.test.ts) check the same from outside.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { mintAccessToken } from "../helpers/tokens.ts";
import { modernMcpPost, rawMcpPost, toolsCall } from "../helpers/mcp.ts";

let server: TestServer;
let token: string;
let auth: Record<string, string>;

beforeAll(async () => {
  server = await startTestServer({ RATE_LIMIT_ENABLED: "false" });
  token = (await mintAccessToken(server.services.prisma, server.env.APP_URL, { email: "modern@example.com" })).token;
  auth = { Authorization: `Bearer ${token}` };
});

interface RpcAnswer {
  id: unknown;
  result?: Record<string, unknown> & { _meta?: Record<string, unknown> };
  error?: { code: number; message: string; data?: Record<string, unknown> };
}

describe("2026-07-28 requests (Streamable HTTP, per-request envelope)", () => {
  it("server/discover names the supported revisions, the tools capability, the server, and cache hints", async () => {
    const res = await modernMcpPost(server.url, "server/discover", {}, auth);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/application\/json/);
    const body = (await res.json()) as RpcAnswer;
    expect(body.result).toMatchObject({
      supportedVersions: ["2026-07-28"],
      capabilities: { tools: { listChanged: false } },
      resultType: "complete",
      cacheScope: "public",
      ttlMs: 300_000,
    });
    expect(body.result!._meta!["io.modelcontextprotocol/serverInfo"]).toMatchObject({ name: "mcp-oauth-server" });
  });

  it("tools/list carries ttlMs and a private cacheScope (the list depends on the caller, §Caching)", async () => {
    const body = (await (await modernMcpPost(server.url, "tools/list", {}, auth)).json()) as RpcAnswer;
    expect(body.result).toMatchObject({ resultType: "complete", cacheScope: "private", ttlMs: 300_000 });
    expect((body.result!.tools as Array<{ name: string }>).map((t) => t.name)).toEqual(["whoami", "list_connected_apps", "revoke_connected_app"]);
  });

  it("tools/call answers the caller's own result", async () => {
    const body = (await (await modernMcpPost(server.url, "tools/call", { name: "whoami", arguments: {} }, auth, "abc")).json()) as RpcAnswer;
    expect(body.id).toBe("abc");
    expect(body.result).toMatchObject({ resultType: "complete", structuredContent: { user: { email: "modern@example.com" } } });
  });

  it("header and body must agree: -32020 HeaderMismatch with 400, echoing the request id", async () => {
    const name = await modernMcpPost(server.url, "tools/call", { name: "whoami", arguments: {} }, { ...auth, "Mcp-Name": "other" }, 9);
    expect(name.status).toBe(400);
    expect(((await name.json()) as RpcAnswer).error).toMatchObject({ code: -32020 });
    const method = await modernMcpPost(server.url, "tools/list", {}, { ...auth, "Mcp-Method": "tools/call" });
    expect(method.status).toBe(400);
    expect(((await method.json()) as RpcAnswer).error!.code).toBe(-32020);
    const missing = await modernMcpPost(server.url, "tools/list", {}, { ...auth, "Mcp-Method": undefined });
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as RpcAnswer).error!.code).toBe(-32020);
  });

  it("an unsupported revision is 400 -32022 naming the supported ones", async () => {
    const res = await fetch(`${server.url}/mcp/mcp`, {
      method: "POST",
      headers: { ...auth, "Content-Type": "application/json", Accept: "application/json, text/event-stream", "MCP-Protocol-Version": "2099-01-01", "Mcp-Method": "tools/list" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 3, method: "tools/list", params: { _meta: { "io.modelcontextprotocol/protocolVersion": "2099-01-01", "io.modelcontextprotocol/clientCapabilities": {} } } }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as RpcAnswer;
    expect(body.error).toMatchObject({ code: -32022, data: { supported: ["2026-07-28"], requested: "2099-01-01" } });
    expect(body.id).toBe(3);
  });

  it("a method the revision does not have is 404 -32601 (initialize, ping)", async () => {
    for (const method of ["ping", "initialize"]) {
      const res = await modernMcpPost(server.url, method, {}, auth);
      expect([method, res.status]).toEqual([method, 404]);
      expect(((await res.json()) as RpcAnswer).error!.code).toBe(-32601);
    }
  });

  it("GET and DELETE are 405; a 2026 request's Mcp-Session-Id is ignored", async () => {
    for (const method of ["GET", "DELETE"]) {
      const res = await fetch(`${server.url}/mcp/mcp`, { method, headers: { ...auth, "MCP-Protocol-Version": "2026-07-28" } });
      expect([method, res.status]).toEqual([method, 405]);
    }
    const res = await modernMcpPost(server.url, "tools/list", {}, { ...auth, "Mcp-Session-Id": "no-such-session" });
    expect(res.status).toBe(200);
  });
});

describe("The same bearer rules at both revisions (MCP 2026-07-28 Authorization)", () => {
  it("no token: 401 with resource_metadata and the scope the endpoint needs", async () => {
    const res = await modernMcpPost(server.url, "tools/list");
    expect(res.status).toBe(401);
    const challenge = res.headers.get("www-authenticate")!;
    expect(challenge).toContain(`resource_metadata="${server.env.APP_URL}/.well-known/oauth-protected-resource/mcp/mcp"`);
    expect(challenge).toContain('scope="mcp:tools:read"');
  });

  it("an administrator without mcp:admin calling an admin tool: one 403 naming every scope the call needs, at both wires", async () => {
    const admin = await mintAccessToken(server.services.prisma, server.env.APP_URL, { role: "ADMIN", scope: "mcp:tools" });
    const headers = { Authorization: `Bearer ${admin.token}` };
    const modern = await modernMcpPost(server.url, "tools/call", { name: "admin_list_clients", arguments: {} }, headers);
    const legacy = await rawMcpPost(server.url, toolsCall("admin_list_clients"), headers);
    for (const res of [modern, legacy]) {
      expect(res.status).toBe(403);
      expect(res.headers.get("www-authenticate")).toMatch(/error="insufficient_scope".*scope="mcp:tools mcp:admin".*resource_metadata=/);
    }
  });

  it("an administrator whose token has mcp:admin sees the admin tools at 2026-07-28 too", async () => {
    const admin = await mintAccessToken(server.services.prisma, server.env.APP_URL, { role: "ADMIN", scope: "mcp:tools mcp:admin" });
    const body = (await (await modernMcpPost(server.url, "tools/list", {}, { Authorization: `Bearer ${admin.token}` })).json()) as RpcAnswer;
    expect((body.result!.tools as Array<{ name: string }>).map((t) => t.name)).toContain("admin_list_clients");
  });
});

describe("One connection serves many callers at once (ADR 0013)", () => {
  it("concurrent requests from different people with the same JSON-RPC id each get their own answer, at both revisions", async () => {
    const people = await Promise.all(
      Array.from({ length: 12 }, (_, i) => mintAccessToken(server.services.prisma, server.env.APP_URL, { email: `many-${i}@example.com` })),
    );
    const calls = people.flatMap((person, i) => {
      const headers = { Authorization: `Bearer ${person.token}` };
      return [
        modernMcpPost(server.url, "tools/call", { name: "whoami", arguments: {} }, headers, 1).then(async (res) => ({ i, body: (await res.json()) as RpcAnswer })),
        rawMcpPost(server.url, toolsCall("whoami", {}, 1), headers).then(async (res) => ({ i, body: (await res.json()) as RpcAnswer })),
      ];
    });
    for (const { i, body } of await Promise.all(calls)) {
      expect(body.id).toBe(1);
      expect((body.result!.structuredContent as { user: { email: string } }).user.email).toBe(`many-${i}@example.com`);
    }
  });
});

describe("Per-tool scopes and step-up (MCP 2026-07-28 Authorization §Step-Up Authorization Flow)", () => {
  it("a read-only token reads, and a write tool answers 403 naming every scope the client now needs (old and new)", async () => {
    const reader = await mintAccessToken(server.services.prisma, server.env.APP_URL, { scope: "mcp:tools:read" });
    const headers = { Authorization: `Bearer ${reader.token}` };
    const list = (await (await modernMcpPost(server.url, "tools/list", {}, headers)).json()) as RpcAnswer;
    expect((list.result!.tools as Array<{ name: string }>).map((t) => t.name)).toContain("revoke_connected_app");
    expect((await modernMcpPost(server.url, "tools/call", { name: "whoami", arguments: {} }, headers)).status).toBe(200);
    for (const res of [
      await modernMcpPost(server.url, "tools/call", { name: "revoke_connected_app", arguments: { grantId: "x" } }, headers),
      await rawMcpPost(server.url, toolsCall("revoke_connected_app", { grantId: "x" }), headers),
    ]) {
      expect(res.status).toBe(403);
      expect(res.headers.get("www-authenticate")).toMatch(/error="insufficient_scope".*scope="mcp:tools:read mcp:tools:write"/);
    }
    // The broader scope covers both (hierarchy): no challenge.
    const broad = await mintAccessToken(server.services.prisma, server.env.APP_URL, { scope: "mcp:tools" });
    const call = await modernMcpPost(server.url, "tools/call", { name: "revoke_connected_app", arguments: { grantId: "x" } }, { Authorization: `Bearer ${broad.token}` });
    expect(call.status).toBe(200);
  });
});
