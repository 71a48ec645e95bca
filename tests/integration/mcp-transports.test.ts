/**
 * Transport behaviour (MCP 2025-11-25 Transports; 2024-11-05 HTTP+SSE): stateless by default, what GET and DELETE
 * answer, malformed messages, CORS for browser clients, and SSE streams ending on graceful shutdown.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { mintAccessToken } from "../helpers/tokens.ts";
import { INITIALIZE, MCP_ACCEPT, connectSse, rawMcpPost, toolsCall } from "../helpers/mcp.ts";
import type { DomainEvents } from "../../server/events.ts";

let server: TestServer;
let token: string;
const requests: Array<DomainEvents["mcp.request"]> = [];
const toolCalls: Array<DomainEvents["mcp.tool.called"]> = [];

beforeAll(async () => {
  server = await startTestServer();
  token = (await mintAccessToken(server.services.prisma, server.env.APP_URL)).token;
  server.services.events.on("mcp.request", (event) => requests.push(event));
  server.services.events.on("mcp.tool.called", (event) => toolCalls.push(event));
});

describe("Streamable HTTP without sessions (the default)", () => {
  it("initializes without an Mcp-Session-Id and answers JSON", async () => {
    const res = await rawMcpPost(server.url, INITIALIZE, { Authorization: `Bearer ${token}` });
    expect(res.status).toBe(200);
    expect(res.headers.get("mcp-session-id")).toBeNull();
    expect(res.headers.get("content-type")).toMatch(/application\/json/);
    const body = (await res.json()) as { result: { protocolVersion: string; serverInfo: { name: string }; capabilities: object } };
    expect(body.result.protocolVersion).toBe("2025-11-25");
    expect(body.result.serverInfo.name).toBe("mcp-oauth-server");
    expect(body.result.capabilities).toHaveProperty("tools");
  });

  it("serves tools/call without initialize on any request (stateless)", async () => {
    const res = await rawMcpPost(server.url, toolsCall("whoami"), { Authorization: `Bearer ${token}` });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { result: { structuredContent: { scopes: string[] } } };
    expect(body.result.structuredContent.scopes).toEqual(["mcp:tools"]);
  });

  it("answers a batch, and a notification with 202", async () => {
    const batch = await rawMcpPost(server.url, [toolsCall("whoami", {}, 7), { jsonrpc: "2.0", id: 8, method: "tools/list" }], {
      Authorization: `Bearer ${token}`,
    });
    // The 2025-11-25 schema has no batches: the SDK answers them anyway or refuses them cleanly, never a 5xx.
    expect(batch.status).toBeLessThan(500);
    const note = await rawMcpPost(server.url, { jsonrpc: "2.0", method: "notifications/initialized" }, { Authorization: `Bearer ${token}` });
    expect(note.status).toBe(202);
  });

  it("answers GET and DELETE with 405 (no standalone stream, no sessions)", async () => {
    const get = await fetch(`${server.url}/mcp/mcp`, { headers: { Authorization: `Bearer ${token}`, Accept: "text/event-stream" } });
    expect(get.status).toBe(405);
    const del = await fetch(`${server.url}/mcp/mcp`, { method: "DELETE", headers: { Authorization: `Bearer ${token}` } });
    expect(del.status).toBe(405);
  });

  it("refuses malformed JSON, a bad Accept header and a wrong Content-Type with 4xx, never 5xx", async () => {
    const auth = { Authorization: `Bearer ${token}` };
    const broken = await fetch(`${server.url}/mcp/mcp`, {
      method: "POST",
      headers: { ...auth, "Content-Type": "application/json", Accept: MCP_ACCEPT },
      body: "{not json",
    });
    expect(broken.status).toBe(400);
    expect(await broken.json()).toMatchObject({ error: { code: -32700 } });
    const accept = await rawMcpPost(server.url, INITIALIZE, { ...auth, Accept: "text/html" });
    expect(accept.status).toBe(406);
    const type = await fetch(`${server.url}/mcp/mcp`, {
      method: "POST",
      headers: { ...auth, "Content-Type": "text/plain", Accept: MCP_ACCEPT },
      body: JSON.stringify(INITIALIZE),
    });
    expect(type.status).toBe(415);
    const notRpc = await rawMcpPost(server.url, { hello: "world" }, auth);
    expect(notRpc.status).toBe(400);
  });

  it("emits mcp.request and mcp.tool.called events without secrets", async () => {
    requests.length = 0;
    toolCalls.length = 0;
    await rawMcpPost(server.url, toolsCall("whoami"), { Authorization: `Bearer ${token}` });
    expect(requests.at(-1)).toMatchObject({ transport: "streamable-http", method: "tools/call", status: 200, ip: "127.0.0.1" });
    expect(requests.at(-1)?.clientId).toBeTruthy();
    expect(toolCalls.at(-1)).toMatchObject({ tool: "whoami", outcome: "ok" });
    expect(JSON.stringify([...requests, ...toolCalls])).not.toContain(token);
  });
});

describe("CORS for browser-based MCP clients", () => {
  it("answers the preflight and exposes Mcp-Session-Id and WWW-Authenticate", async () => {
    const preflight = await fetch(`${server.url}/mcp/mcp`, {
      method: "OPTIONS",
      headers: {
        Origin: "http://localhost:6274", // the MCP Inspector's page
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type, mcp-protocol-version, mcp-session-id",
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-headers")).toMatch(/Authorization/);
    expect(preflight.headers.get("access-control-allow-headers")).toMatch(/Mcp-Session-Id/);
    const res = await rawMcpPost(server.url, INITIALIZE, { Origin: "http://localhost:6274" });
    expect(res.status).toBe(401);
    expect(res.headers.get("access-control-allow-origin")).toBeTruthy();
    expect(res.headers.get("access-control-expose-headers")).toMatch(/WWW-Authenticate/);
    expect(res.headers.get("access-control-expose-headers")).toMatch(/Mcp-Session-Id/);
  });
});

describe("Origin check on /mcp by default (MCP transports §Security Warning: DNS rebinding)", () => {
  it("refuses a foreign Origin with 403, serves APP_URL's and loopback origins, and leaves discovery open", async () => {
    const auth = { Authorization: `Bearer ${token}` };
    for (const origin of ["https://evil.example", "null", "http://localhost.evil.example", "file://"]) {
      const refused = await rawMcpPost(server.url, INITIALIZE, { ...auth, Origin: origin });
      expect(refused.status, origin).toBe(403);
      expect(await refused.json()).toEqual({ error: "invalid_request", error_description: "Origin not allowed" });
    }
    const sse = await fetch(`${server.url}/mcp/sse`, { headers: { ...auth, Origin: "https://evil.example", Accept: "text/event-stream" } });
    expect(sse.status).toBe(403);
    const preflight = await fetch(`${server.url}/mcp/mcp`, { method: "OPTIONS", headers: { Origin: "https://evil.example", "Access-Control-Request-Method": "POST" } });
    expect(preflight.status).toBe(403);
    for (const origin of [new URL(server.env.APP_URL).origin, "http://localhost:6274", "http://127.0.0.1:9", "http://[::1]:3000"]) {
      const served = await rawMcpPost(server.url, INITIALIZE, { ...auth, Origin: origin });
      expect(served.status, origin).toBe(200);
      expect(served.headers.get("access-control-allow-origin")).toBe(origin);
    }
    expect((await rawMcpPost(server.url, INITIALIZE, auth)).status).toBe(200); // no Origin: not a browser page
    const metadata = await fetch(`${server.url}/.well-known/oauth-protected-resource/mcp/mcp`, { headers: { Origin: "https://evil.example" } });
    expect(metadata.status).toBe(200);
    expect(metadata.headers.get("access-control-allow-origin")).toBe("*");
  });

  it("ALLOWED_ORIGINS=* serves any Origin on /mcp", async () => {
    const open = await startTestServer({ ALLOWED_ORIGINS: "*" }, { database: server.database });
    const minted = await mintAccessToken(open.services.prisma, open.env.APP_URL);
    const res = await rawMcpPost(open.url, INITIALIZE, { Authorization: `Bearer ${minted.token}`, Origin: "https://anywhere.example" });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
  });
});

describe("Origin allow-list on /mcp (ALLOWED_ORIGINS)", () => {
  it("refuses a browser Origin not in ALLOWED_ORIGINS, and serves an allowed one", async () => {
    const guarded = await startTestServer({ ALLOWED_ORIGINS: "https://good.example" }, { database: server.database });
    const minted = await mintAccessToken(guarded.services.prisma, guarded.env.APP_URL);
    const auth = { Authorization: `Bearer ${minted.token}` };
    const evil = await rawMcpPost(guarded.url, INITIALIZE, { ...auth, Origin: "https://evil.example" });
    expect(evil.status).toBe(403);
    const good = await rawMcpPost(guarded.url, INITIALIZE, { ...auth, Origin: "https://good.example" });
    expect(good.status).toBe(200);
    expect(good.headers.get("access-control-allow-origin")).toBe("https://good.example");
    const sse = await fetch(`${guarded.url}/mcp/sse`, { headers: { ...auth, Origin: "https://evil.example", Accept: "text/event-stream" } });
    expect(sse.status).toBe(403);
  });
});

describe("Legacy HTTP+SSE transport (MCP 2024-11-05)", () => {
  it("names the message endpoint in its first event and refuses unknown sessions", async () => {
    const res = await fetch(`${server.url}/mcp/sse`, { headers: { Authorization: `Bearer ${token}`, Accept: "text/event-stream" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/text\/event-stream/);
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toMatch(/^event: endpoint\ndata: \/mcp\/message\?sessionId=[0-9a-f-]{36}\n\n/);
    await reader.cancel();
    const unknown = await rawMcpPost(server.url, toolsCall("whoami"), { Authorization: `Bearer ${token}` }, "/mcp/message?sessionId=00000000-0000-4000-8000-000000000000");
    expect(unknown.status).toBe(404);
    const missing = await rawMcpPost(server.url, toolsCall("whoami"), { Authorization: `Bearer ${token}` }, "/mcp/message");
    expect(missing.status).toBe(400);
  });

  it("bounds the open streams of one client and user (16)", async () => {
    const minted = await mintAccessToken(server.services.prisma, server.env.APP_URL);
    const openStream = () =>
      fetch(`${server.url}/mcp/sse`, { headers: { Authorization: `Bearer ${minted.token}`, Accept: "text/event-stream" } });
    const streams = await Promise.all(Array.from({ length: 16 }, openStream));
    expect(streams.map((r) => r.status)).toEqual(Array(16).fill(200));
    const refused = await openStream();
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBeTruthy();
    await refused.arrayBuffer();
    await streams[0].body!.cancel();
    await expect.poll(async () => {
      const again = await openStream();
      const status = again.status;
      await again.body?.cancel();
      return status;
    }).toBe(200);
    await Promise.all(streams.slice(1).map((r) => r.body!.cancel()));
  });

  it("ends its streams on graceful shutdown", async () => {
    const own = await startTestServer({}, { database: server.database, autoClose: false });
    const minted = await mintAccessToken(own.services.prisma, own.env.APP_URL);
    const client = await connectSse(own.url, minted.token);
    await client.listTools();
    const raw = await fetch(`${own.url}/mcp/sse`, { headers: { Authorization: `Bearer ${minted.token}`, Accept: "text/event-stream" } });
    const reader = raw.body!.getReader();
    await reader.read();
    expect(own.services.mcp.sse.openStreams).toBe(2);
    const started = performance.now();
    await own.close(5_000);
    // The streams did not hold the shutdown for its grace period.
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(own.services.mcp.sse.openStreams).toBe(0);
    let done = false;
    while (!done) done = (await reader.read()).done;
    expect(done).toBe(true);
  });
});
