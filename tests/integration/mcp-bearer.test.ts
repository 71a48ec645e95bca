/**
 * The MCP endpoints' bearer check: RFC 6750 §2-3, RFC 8707 audience, RFC 9728 §5.1 `resource_metadata`, MCP
 * 2025-11-25 Authorization (token usage, scope challenges), and revocation reaching the token cache.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { mintAccessToken } from "../helpers/tokens.ts";
import { INITIALIZE, MCP_ACCEPT, connectSse, connectStreamable, rawMcpPost, toolsCall } from "../helpers/mcp.ts";
import { revokeGrant } from "../../server/oauth/grants.ts";
import type { DomainEvents } from "../../server/events.ts";

let server: TestServer;
let prm: { mcp: string; sse: string };
const security: Array<DomainEvents["security.event"]> = [];

beforeAll(async () => {
  server = await startTestServer();
  prm = {
    mcp: `${server.env.APP_URL}/.well-known/oauth-protected-resource/mcp/mcp`,
    sse: `${server.env.APP_URL}/.well-known/oauth-protected-resource/mcp/sse`,
  };
  server.services.events.on("security.event", (event) => security.push(event));
});

function challenge(res: Response): Record<string, string> {
  const header = res.headers.get("www-authenticate") ?? "";
  expect(header).toMatch(/^Bearer /);
  return Object.fromEntries([...header.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
}

function invalidTokenEvents(): number {
  return security.filter((e) => e.type === "INVALID_TOKEN").length;
}

describe("No credentials: 401 with resource_metadata (RFC 6750 §3.1, RFC 9728 §5.1)", () => {
  it("points /mcp/mcp at its path-inserted Protected Resource Metadata, without an error code", async () => {
    const res = await rawMcpPost(server.url, INITIALIZE);
    expect(res.status).toBe(401);
    // MCP 2026-07-28 Authorization: the 401 also names the scope the endpoint needs.
    expect(challenge(res)).toEqual({ resource_metadata: prm.mcp, scope: "mcp:tools:read" });
    expect(res.headers.get("cache-control")).toBe("no-store");
    const get = await fetch(`${server.url}/mcp/mcp`, { headers: { Accept: "text/event-stream" } });
    expect(get.status).toBe(401);
    const del = await fetch(`${server.url}/mcp/mcp`, { method: "DELETE" });
    expect(del.status).toBe(401);
  });

  it("points /mcp/sse and /mcp/message at the SSE endpoint's metadata", async () => {
    const sse = await fetch(`${server.url}/mcp/sse`, { headers: { Accept: "text/event-stream" } });
    expect(sse.status).toBe(401);
    expect(challenge(sse)).toEqual({ resource_metadata: prm.sse, scope: "mcp:tools:read" });
    const message = await rawMcpPost(server.url, toolsCall("whoami"), {}, "/mcp/message?sessionId=00000000-0000-0000-0000-000000000000");
    expect(message.status).toBe(401);
    expect(challenge(message).resource_metadata).toBe(prm.sse);
  });

  it("treats another scheme (Basic) as no bearer credentials", async () => {
    const res = await rawMcpPost(server.url, INITIALIZE, { Authorization: "Basic dXNlcjpwYXNz" });
    expect(res.status).toBe(401);
    expect(challenge(res).error).toBeUndefined();
  });
});

describe("Invalid tokens: 401 invalid_token + INVALID_TOKEN security event (RFC 6750 §3.1)", () => {
  const cases: Array<[string, () => Promise<string>]> = [
    ["unknown token", async () => "mcpat_" + "x".repeat(43)],
    ["malformed token", async () => "not a token!"],
    ["token of another kind (refresh-token prefix)", async () => "mcprt_" + "x".repeat(43)],
    ["expired token", async () => (await mintAccessToken(server.services.prisma, server.env.APP_URL, { expiresInSeconds: -5 })).token],
    [
      "revoked token",
      async () => {
        const minted = await mintAccessToken(server.services.prisma, server.env.APP_URL);
        await server.services.prisma.accessToken.update({ where: { id: minted.tokenId }, data: { revokedAt: new Date() } });
        return minted.token;
      },
    ],
    [
      "token of a revoked grant",
      async () => {
        const minted = await mintAccessToken(server.services.prisma, server.env.APP_URL);
        await server.services.prisma.grant.update({ where: { id: minted.grantId }, data: { revokedAt: new Date() } });
        return minted.token;
      },
    ],
    [
      "token of a disabled client",
      async () => {
        const minted = await mintAccessToken(server.services.prisma, server.env.APP_URL);
        await server.services.prisma.client.update({ where: { id: minted.clientDbId }, data: { disabled: true } });
        return minted.token;
      },
    ],
    [
      "token for another audience (RFC 8707)",
      async () => (await mintAccessToken(server.services.prisma, server.env.APP_URL, { resource: "https://other.example/mcp" })).token,
    ],
    [
      "token for the SSE endpoint used at /mcp/mcp",
      async () => (await mintAccessToken(server.services.prisma, server.env.APP_URL, { resource: `${server.env.APP_URL}/mcp/sse` })).token,
    ],
  ];

  it.each(cases)("refuses a %s", async (_name, makeToken) => {
    const token = await makeToken();
    const before = invalidTokenEvents();
    const res = await rawMcpPost(server.url, INITIALIZE, { Authorization: `Bearer ${token}` });
    expect(res.status).toBe(401);
    const params = challenge(res);
    expect(params.error).toBe("invalid_token");
    expect(params.resource_metadata).toBe(prm.mcp);
    expect(await res.json()).toMatchObject({ error: "invalid_token" });
    expect(invalidTokenEvents()).toBe(before + 1);
    expect(JSON.stringify(security.at(-1))).not.toContain(token);
  });

  it("accepts a token for the endpoint's own resource and for the whole server", async () => {
    for (const resource of [`${server.env.APP_URL}/mcp/mcp`, `${server.env.APP_URL}/mcp`, `${server.env.APP_URL}/mcp/`]) {
      const minted = await mintAccessToken(server.services.prisma, server.env.APP_URL, { resource });
      const res = await rawMcpPost(server.url, INITIALIZE, { Authorization: `Bearer ${minted.token}` });
      expect(res.status, resource).toBe(200);
    }
  });

  it("refuses a /mcp/mcp token on the SSE endpoint, and accepts a /mcp/sse token there", async () => {
    const mcpOnly = await mintAccessToken(server.services.prisma, server.env.APP_URL, { resource: `${server.env.APP_URL}/mcp/mcp` });
    const sse = await fetch(`${server.url}/mcp/sse`, { headers: { Authorization: `Bearer ${mcpOnly.token}`, Accept: "text/event-stream" } });
    expect(sse.status).toBe(401);
    expect(challenge(sse)).toMatchObject({ error: "invalid_token", resource_metadata: prm.sse });
    const sseOnly = await mintAccessToken(server.services.prisma, server.env.APP_URL, { resource: `${server.env.APP_URL}/mcp/sse` });
    const client = await connectSse(server.url, sseOnly.token);
    await expect(client.listTools()).resolves.toBeTruthy();
  });
});

describe("Tokens only in the Authorization header (RFC 6750 §2; MCP: never in the query string)", () => {
  it("refuses a token in the query string, even a valid one", async () => {
    const minted = await mintAccessToken(server.services.prisma, server.env.APP_URL);
    const res = await fetch(`${server.url}/mcp/mcp?access_token=${minted.token}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: MCP_ACCEPT },
      body: JSON.stringify(INITIALIZE),
    });
    expect(res.status).toBe(400);
    expect(challenge(res).error).toBe("invalid_request");
    const withHeader = await fetch(`${server.url}/mcp/mcp?access_token=${minted.token}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: MCP_ACCEPT, Authorization: `Bearer ${minted.token}` },
      body: JSON.stringify(INITIALIZE),
    });
    expect(withHeader.status).toBe(400);
  });

  it("ignores a token in a JSON body", async () => {
    const minted = await mintAccessToken(server.services.prisma, server.env.APP_URL);
    const res = await rawMcpPost(server.url, { ...INITIALIZE, access_token: minted.token });
    expect(res.status).toBe(401);
  });
});

describe("Insufficient scope: 403 insufficient_scope with the scope needed (RFC 6750 §3.1, MCP scope challenge)", () => {
  it("refuses a token without mcp:tools (or its narrower mcp:tools:read)", async () => {
    const minted = await mintAccessToken(server.services.prisma, server.env.APP_URL, { scope: "openid profile" });
    const res = await rawMcpPost(server.url, INITIALIZE, { Authorization: `Bearer ${minted.token}` });
    expect(res.status).toBe(403);
    expect(challenge(res)).toEqual({
      error: "insufficient_scope",
      error_description: expect.any(String),
      scope: "mcp:tools:read",
      resource_metadata: prm.mcp,
    });
    const sse = await fetch(`${server.url}/mcp/sse`, { headers: { Authorization: `Bearer ${minted.token}`, Accept: "text/event-stream" } });
    expect(sse.status).toBe(403);
    expect(challenge(sse).scope).toBe("mcp:tools:read");
  });

  it("asks an ADMIN calling an admin tool without mcp:admin to step up", async () => {
    const minted = await mintAccessToken(server.services.prisma, server.env.APP_URL, { role: "ADMIN", scope: "mcp:tools" });
    const res = await rawMcpPost(server.url, toolsCall("admin_list_clients"), { Authorization: `Bearer ${minted.token}` });
    expect(res.status).toBe(403);
    expect(challenge(res)).toMatchObject({ error: "insufficient_scope", scope: "mcp:tools mcp:admin" });
  });

  it("does not reveal admin tools to a USER: the same 'not found' as any unknown tool (MCP §Tools: -32602)", async () => {
    const minted = await mintAccessToken(server.services.prisma, server.env.APP_URL, { role: "USER", scope: "mcp:tools" });
    const auth = { Authorization: `Bearer ${minted.token}` };
    const bodies = [];
    for (const name of ["admin_list_clients", "no_such_tool"]) {
      const res = await rawMcpPost(server.url, toolsCall(name), auth);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { error: { code: number; message: string } };
      expect(body.error.code).toBe(-32602);
      bodies.push(body.error.message.replace(name, "<name>"));
    }
    expect(bodies[0]).toMatch(/not found/);
    expect(bodies[0]).toBe(bodies[1]);
  });
});

describe("Revocation reaches the token cache (oauth.revocation)", () => {
  it("a cached token stops working within 1 s of its grant being revoked", async () => {
    const minted = await mintAccessToken(server.services.prisma, server.env.APP_URL);
    const client = await connectStreamable(server.url, minted.token);
    await client.listTools();
    expect(server.services.mcp.bearer.cache.size).toBeGreaterThan(0);
    await revokeGrant(server.services, minted.grantId, "test");
    const started = performance.now();
    const res = await rawMcpPost(server.url, toolsCall("whoami"), { Authorization: `Bearer ${minted.token}` });
    expect(res.status).toBe(401);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it("a revocation event naming the client, the user or the token drops the cached entry", async () => {
    for (const key of ["clientIds", "userIds", "accessTokenIds"] as const) {
      const minted = await mintAccessToken(server.services.prisma, server.env.APP_URL);
      const ok = await rawMcpPost(server.url, INITIALIZE, { Authorization: `Bearer ${minted.token}` });
      expect(ok.status).toBe(200);
      // Revoked in the database behind the cache's back, then announced.
      await server.services.prisma.accessToken.update({ where: { id: minted.tokenId }, data: { revokedAt: new Date() } });
      const id = key === "clientIds" ? minted.clientDbId : key === "userIds" ? minted.userId : minted.tokenId;
      server.services.events.emit("oauth.revocation", { [key]: [id] });
      const res = await rawMcpPost(server.url, INITIALIZE, { Authorization: `Bearer ${minted.token}` });
      expect(res.status, key).toBe(401);
    }
  });
});
