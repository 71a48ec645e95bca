/**
 * The MCP SDK client end to end with a real token from our authorization server (MCP 2025-11-25 Authorization:
 * RFC 9728 discovery from the 401, RFC 8414 metadata, RFC 7591 registration, PKCE, RFC 8707 resource), over both
 * transports and on two nodes sharing one database and one Redis.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { TEST_REDIS_URL, redisTestPrefix, structured } from "../helpers/mcp.ts";
import { authorizeWithSdk, signedInBrowser, type TestOAuthProvider } from "../helpers/mcp-oauth.ts";

const ADMIN_EMAIL = "root-admin@example.test";
let a: TestServer;
let b: TestServer;
const clients: Client[] = [];

beforeAll(async () => {
  const env = { REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: redisTestPrefix("mcp-oauth-flow"), ADMIN_EMAILS: ADMIN_EMAIL, AUTH_DEV_LOGIN: "true" };
  a = await startTestServer(env);
  b = await startTestServer({ ...env, APP_URL: a.env.APP_URL }, { database: a.database });
  await Promise.all([a.services.mcp.ready, b.services.mcp.ready]);
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => {})));
});

async function connect(kind: "streamable" | "sse", baseUrl: string, provider: TestOAuthProvider): Promise<Client> {
  const client = new Client({ name: "sdk-oauth-test", version: "1.0.0" });
  clients.push(client);
  const transport =
    kind === "streamable"
      ? new StreamableHTTPClientTransport(new URL("/mcp/mcp", baseUrl), { authProvider: provider })
      : new SSEClientTransport(new URL("/mcp/sse", baseUrl), { authProvider: provider });
  await client.connect(transport);
  return client;
}

describe("MCP SDK client with a token from our authorization server", () => {
  const providers: Partial<Record<"streamable" | "sse", TestOAuthProvider>> = {};
  let provider: TestOAuthProvider;
  const email = "ada@example.test";

  beforeAll(async () => {
    const browser = await signedInBrowser(a.url, email);
    // Each transport's URL is its own resource (RFC 9728): the SDK asks for a token bound to it.
    providers.streamable = await authorizeWithSdk(`${a.url}/mcp/mcp`, browser);
    providers.sse = await authorizeWithSdk(`${a.url}/mcp/sse`, browser);
    provider = providers.streamable;
  });

  it.each(["streamable", "sse"] as const)("lists tools and whoami names the signed-in person (%s)", async (kind) => {
    const provider = providers[kind]!;
    const client = await connect(kind, a.url, provider);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(["list_connected_apps", "revoke_connected_app", "whoami"]);
    const me = structured<{ user: { email: string; role: string }; client: { name: string; clientId: string }; scopes: string[] }>(
      await client.callTool({ name: "whoami", arguments: {} }),
    );
    expect(me.user).toMatchObject({ email, role: "USER" });
    expect(me.client).toEqual({ name: "MCP SDK test client", clientId: (provider.information as { client_id: string }).client_id });
    expect(me.scopes).toEqual(["mcp:tools"]);
  });

  it("a token bound to /mcp/mcp is refused at /mcp/sse (RFC 8707 audience)", async () => {
    const res = await fetch(`${a.url}/mcp/sse`, {
      headers: { authorization: `Bearer ${provider.saved!.access_token}`, accept: "text/event-stream" },
    });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toContain('error="invalid_token"');
  });

  it("the token issued by one node works on the other", async () => {
    const client = await connect("streamable", b.url, provider);
    const me = structured<{ user: { email: string } }>(await client.callTool({ name: "whoami", arguments: {} }));
    expect(me.user.email).toBe(email);
  });

  it("list_connected_apps shows this connection", async () => {
    const client = await connect("streamable", a.url, provider);
    const apps = structured<{ apps: Array<{ name: string; thisConnection: boolean; scopes: string[] }> }>(
      await client.callTool({ name: "list_connected_apps", arguments: {} }),
    );
    expect(apps.apps).toContainEqual(expect.objectContaining({ name: "MCP SDK test client", thisConnection: true, scopes: ["mcp:tools"] }));
  });
});

describe("Admin tools with a real admin token", () => {
  it("an ADMIN_EMAILS person with mcp:admin sees and uses the admin tools", async () => {
    const browser = await signedInBrowser(a.url, ADMIN_EMAIL);
    const provider = await authorizeWithSdk(`${a.url}/mcp/mcp`, browser, "mcp:tools mcp:admin");
    expect(provider.saved?.scope?.split(" ").sort()).toEqual(["mcp:admin", "mcp:tools"]);
    const client = await connect("streamable", b.url, provider);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(["admin_list_clients", "admin_security_events"]));
    const listed = structured<{ clients: Array<{ name: string }> }>(await client.callTool({ name: "admin_list_clients", arguments: {} }));
    expect(listed.clients.map((c) => c.name)).toContain("MCP SDK test client");
  });

  it("an ordinary person asking for mcp:admin gets only mcp:tools, and no admin tools", async () => {
    const browser = await signedInBrowser(a.url, "grace@example.test");
    const provider = await authorizeWithSdk(`${a.url}/mcp/sse`, browser, "mcp:tools mcp:admin");
    expect(provider.saved?.scope).toBe("mcp:tools");
    const client = await connect("sse", a.url, provider);
    const { tools } = await client.listTools();
    expect(tools.some((t) => t.name.startsWith("admin_"))).toBe(false);
  });
});

describe("Revocation of a real token (RFC 7009) reaches both nodes' caches", () => {
  it("a token revoked at the revocation endpoint stops working on both nodes within 1 s", async () => {
    const browser = await signedInBrowser(a.url, "revoked@example.test");
    const provider = await authorizeWithSdk(`${a.url}/mcp/mcp`, browser);
    const token = provider.saved!.access_token;
    const call = (node: TestServer) =>
      fetch(`${node.url}/mcp/mcp`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json", accept: "application/json, text/event-stream" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
      }).then(async (res) => {
        await res.arrayBuffer();
        return res.status;
      });
    expect([await call(a), await call(b)]).toEqual([200, 200]);
    const clientId = (provider.information as { client_id: string }).client_id;
    const revoke = await fetch(`${a.url}/api/oauth/revoke`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token, client_id: clientId }),
    });
    expect(revoke.status).toBe(200);
    const started = Date.now();
    let statuses = [await call(a), await call(b)];
    while (statuses.some((s) => s === 200) && Date.now() - started < 1_000) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      statuses = [await call(a), await call(b)];
    }
    expect(statuses).toEqual([401, 401]);
  });
});
