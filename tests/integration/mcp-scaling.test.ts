/**
 * Horizontal scaling: two server instances on one database and one Redis. A token works on both; an SSE stream on
 * one receives the answers to messages posted to the other; Streamable HTTP sessions (MCP_SESSIONS=true) survive
 * landing on the other node and end everywhere on DELETE; a revocation on one node reaches the other's token cache.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { revokeGrant } from "../../server/oauth/grants.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { mintAccessToken } from "../helpers/tokens.ts";
import { INITIALIZE, TEST_REDIS_URL, connectSse, connectStreamable, rawMcpPost, redisTestPrefix, structured, toolsCall } from "../helpers/mcp.ts";

let a: TestServer;
let b: TestServer;

beforeAll(async () => {
  const env = { REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: redisTestPrefix("mcp-scaling"), MCP_SESSIONS: "true" };
  a = await startTestServer(env);
  // Behind one load balancer both nodes publish the same APP_URL (the tokens' audience).
  b = await startTestServer({ ...env, APP_URL: a.env.APP_URL }, { database: a.database });
  await Promise.all([a.services.mcp.ready, b.services.mcp.ready]);
});

describe("Two nodes, one database and one Redis", () => {
  it("a token works on both nodes", async () => {
    const minted = await mintAccessToken(a.services.prisma, a.env.APP_URL, { name: "Both Nodes" });
    for (const node of [a, b]) {
      const client = await connectStreamable(node.url, minted.token);
      const me = structured<{ user: { email: string } }>(await client.callTool({ name: "whoami", arguments: {} }));
      expect(me.user.email).toBe(minted.email);
    }
  });

  it("an SSE stream on one node receives the answer to a message posted to the other", async () => {
    const minted = await mintAccessToken(a.services.prisma, a.env.APP_URL, { name: "Cross Node" });
    const client = await connectSse(a.url, minted.token, { postTo: b.url });
    expect(a.services.mcp.sse.openStreams).toBe(1);
    expect(b.services.mcp.sse.openStreams).toBe(0);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toContain("whoami");
    const me = structured<{ user: { name: string } }>(await client.callTool({ name: "whoami", arguments: {} }));
    expect(me.user.name).toBe("Cross Node");
  });

  it("a message for another caller's SSE session is refused on either node", async () => {
    const owner = await mintAccessToken(a.services.prisma, a.env.APP_URL);
    const intruder = await mintAccessToken(a.services.prisma, a.env.APP_URL);
    const res = await fetch(`${a.url}/mcp/sse`, { headers: { Authorization: `Bearer ${owner.token}`, Accept: "text/event-stream" } });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    const endpoint = /data: (\S+)/.exec(first)![1];
    expect(endpoint).toMatch(/^\/mcp\/message\?sessionId=[0-9a-f-]{36}$/);
    for (const node of [a, b]) {
      const post = await rawMcpPost(node.url, toolsCall("whoami"), { Authorization: `Bearer ${intruder.token}` }, endpoint);
      expect(post.status).toBe(404);
    }
    const own = await rawMcpPost(b.url, toolsCall("whoami"), { Authorization: `Bearer ${owner.token}` }, endpoint);
    expect(own.status).toBe(202);
    await reader.cancel();
  });

  it("a Streamable HTTP session opened on one node works on the other, and DELETE ends it everywhere", async () => {
    const minted = await mintAccessToken(a.services.prisma, a.env.APP_URL);
    const auth = { Authorization: `Bearer ${minted.token}` };
    const init = await rawMcpPost(a.url, INITIALIZE, auth);
    expect(init.status).toBe(200);
    const sessionId = init.headers.get("mcp-session-id");
    expect(sessionId).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const onB = await rawMcpPost(b.url, toolsCall("whoami"), { ...auth, "Mcp-Session-Id": sessionId! });
    expect(onB.status).toBe(200);
    expect(onB.headers.get("mcp-session-id")).toBe(sessionId);
    // Another caller cannot use the session.
    const other = await mintAccessToken(a.services.prisma, a.env.APP_URL);
    const stolen = await rawMcpPost(b.url, toolsCall("whoami"), { Authorization: `Bearer ${other.token}`, "Mcp-Session-Id": sessionId! });
    expect(stolen.status).toBe(404);
    const del = await fetch(`${b.url}/mcp/mcp`, { method: "DELETE", headers: { ...auth, "Mcp-Session-Id": sessionId! } });
    expect(del.status).toBe(200);
    const after = await rawMcpPost(a.url, toolsCall("whoami"), { ...auth, "Mcp-Session-Id": sessionId! });
    expect(after.status).toBe(404);
    expect(await after.json()).toMatchObject({ error: { code: -32001 } });
  });

  it("the SDK client keeps its session while its requests alternate between the nodes", async () => {
    const minted = await mintAccessToken(a.services.prisma, a.env.APP_URL);
    const nodes = [a.url, b.url];
    const seen: string[] = [];
    let next = 0;
    const roundRobin = (url: string | URL, init?: RequestInit) => {
      const target = new URL(url);
      const node = new URL(nodes[next++ % nodes.length]);
      target.host = node.host;
      seen.push(`${init?.method ?? "GET"} ${node.port} ${new Headers(init?.headers).get("mcp-session-id") ? "session" : "-"}`);
      return fetch(target, init);
    };
    const client = await connectStreamable(a.url, minted.token, { fetch: roundRobin });
    const transport = client.transport as unknown as { sessionId?: string };
    expect(transport.sessionId).toBeTruthy();
    for (let i = 0; i < 4; i += 1) {
      const me = structured<{ user: { email: string } }>(await client.callTool({ name: "whoami", arguments: {} }));
      expect(me.user.email).toBe(minted.email);
    }
    const ports = new Set(seen.filter((line) => line.endsWith("session")).map((line) => line.split(" ")[1]));
    expect(ports.size).toBe(2);
  });

  it("a revocation on one node stops the token on the other within 1 s, despite its cache", async () => {
    const minted = await mintAccessToken(a.services.prisma, a.env.APP_URL);
    const onB = () => rawMcpPost(b.url, INITIALIZE, { Authorization: `Bearer ${minted.token}` });
    expect((await onB()).status).toBe(200);
    expect(b.services.mcp.bearer.cache.size).toBeGreaterThan(0);
    await revokeGrant(a.services, minted.grantId, "test");
    const started = Date.now();
    let status = 200;
    while (status === 200 && Date.now() - started < 1_000) {
      status = (await onB()).status;
      if (status === 200) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(status).toBe(401);
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});

describe("Redis unreachable: one node keeps working", () => {
  it("serves SSE, sessions and revocations from memory, without waiting on Redis", async () => {
    const { freePort } = await import("../../server/db/embedded.ts");
    const closedPort = await freePort();
    const lonely = await startTestServer(
      { REDIS_URL: `redis://127.0.0.1:${closedPort}`, REDIS_KEY_PREFIX: redisTestPrefix("mcp-redis-down"), MCP_SESSIONS: "true" },
      { database: a.database },
    );
    const minted = await mintAccessToken(lonely.services.prisma, lonely.env.APP_URL);
    const started = performance.now();
    const sse = await connectSse(lonely.url, minted.token);
    await expect(sse.listTools()).resolves.toBeTruthy();
    const init = await rawMcpPost(lonely.url, INITIALIZE, { Authorization: `Bearer ${minted.token}` });
    const sessionId = init.headers.get("mcp-session-id");
    expect(sessionId).toBeTruthy();
    const inSession = await rawMcpPost(lonely.url, toolsCall("whoami"), { Authorization: `Bearer ${minted.token}`, "Mcp-Session-Id": sessionId! });
    expect(inSession.status).toBe(200);
    expect(performance.now() - started).toBeLessThan(3_000);
    await revokeGrant(lonely.services, minted.grantId, "test");
    const after = await rawMcpPost(lonely.url, toolsCall("whoami"), { Authorization: `Bearer ${minted.token}` });
    expect(after.status).toBe(401);
  });
});
