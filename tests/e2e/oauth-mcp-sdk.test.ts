/**
 * End to end with the MCP TypeScript SDK's v1 client (1.32.x, protocol 2025-11-25), configured with nothing but the server URL
 * (`APP_URL/mcp/mcp`): `auth()` discovers (RFC 9728 → RFC 8414), registers (RFC 7591), sends the person through
 * sign-in and consent in Chromium, exchanges the code, and later refreshes; then the SDK's Streamable HTTP client
 * initializes, lists the tools and calls one with the token it got. The v2 client's 2026-07-28 flow on the same URL
 * is oauth-mcp-sdk-v2.test.ts.
 */
import { auth } from "@modelcontextprotocol/sdk/client/auth.js";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, type TestBrowser } from "../helpers/browser.ts";
import { approveInChromium, TestOAuthProvider } from "../helpers/mcp-oauth.ts";
import { startTestServer, untilClientCacheForgets, type TestServer } from "../helpers/server.ts";

let server: TestServer;
let browser: TestBrowser;
const CALLBACK = "http://127.0.0.1:8977/mcp-sdk/callback";

beforeAll(async () => {
  server = await startTestServer({ RATE_LIMIT_ENABLED: "false" });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
});

/** The MCP host application's provider (no scope of its own: the SDK asks for what the metadata lists). */
function hostProvider(): TestOAuthProvider {
  return new TestOAuthProvider({ scope: null, redirectUrl: CALLBACK, clientName: "MCP SDK e2e" });
}

/** The person in the browser: sign in, look at the consent page, click Allow; returns the callback URL. */
function personApproves(url: URL, email: string): Promise<URL> {
  return approveInChromium(browser, url.href, { email, callbackPrefix: "http://127.0.0.1:8977/", screenshot: "oauth-consent-mcp-sdk" });
}

describe("MCP SDK client auth() against APP_URL/mcp/mcp (MCP 2025-11-25 Authorization)", () => {
  it("discovers, registers, authorizes through the browser, gets tokens, uses them, and refreshes", async () => {
    const serverUrl = `${server.env.APP_URL}/mcp/mcp`;
    const provider = hostProvider();

    expect(await auth(provider, { serverUrl })).toBe("REDIRECT");
    expect(provider.information?.client_id).toMatch(/^mcpc_/);
    const authorizationUrl = provider.authorizationUrl!;
    expect(authorizationUrl.origin + authorizationUrl.pathname).toBe(`${server.env.APP_URL}/oauth/authorize`);
    expect(authorizationUrl.searchParams.get("code_challenge_method")).toBe("S256");
    expect(authorizationUrl.searchParams.get("resource")).toBe(serverUrl);

    const callback = await personApproves(authorizationUrl, "sdk-person@example.com");
    expect(callback.searchParams.get("iss")).toBe(server.env.APP_URL);
    const code = callback.searchParams.get("code")!;
    expect(code).toMatch(/^mcpac_/);

    expect(await auth(provider, { serverUrl, authorizationCode: code })).toBe("AUTHORIZED");
    const first = provider.saved!;
    expect(first.access_token).toMatch(/^mcpat_/);
    expect(first.refresh_token).toMatch(/^mcprt_/);
    expect(first.scope).toBe("mcp:tools");

    // The SDK's MCP client uses the token it got.
    const client = new Client({ name: "e2e", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(serverUrl.replace(server.env.APP_URL, server.url)), { authProvider: provider }));
    expect(client.getServerVersion()?.name).toBe("mcp-oauth-server");
    const tools = await client.listTools();
    expect(tools.tools.length).toBeGreaterThan(0);
    const whoami = await client.callTool({ name: "whoami", arguments: {} });
    expect((whoami.structuredContent as { user: { email: string } }).user.email).toBe("sdk-person@example.com");
    await client.close();

    // With a refresh token on file, auth() refreshes without the browser.
    expect(await auth(provider, { serverUrl })).toBe("AUTHORIZED");
    expect(provider.saved!.access_token).not.toBe(first.access_token);
    expect(provider.saved!.refresh_token).not.toBe(first.refresh_token);
  });

  it("after its registration is swept, the SDK gets invalid_client (401), forgets the client and registers again", async () => {
    const serverUrl = `${server.env.APP_URL}/mcp/mcp`;
    const provider = hostProvider();
    expect(await auth(provider, { serverUrl })).toBe("REDIRECT");
    const callback = await personApproves(provider.authorizationUrl!, "sdk-swept@example.com");
    expect(await auth(provider, { serverUrl, authorizationCode: callback.searchParams.get("code")! })).toBe("AUTHORIZED");
    const oldClientId = provider.information!.client_id;
    // The sweep deletes registrations; simulate it for this one (its tokens go with it).
    await server.services.prisma.client.delete({ where: { clientId: oldClientId } });
    await untilClientCacheForgets(server, oldClientId);
    // auth() tries to refresh, gets invalid_client, invalidates its credentials and registers anew.
    expect(await auth(provider, { serverUrl })).toBe("REDIRECT");
    expect(provider.information!.client_id).toMatch(/^mcpc_/);
    expect(provider.information!.client_id).not.toBe(oldClientId);
  });
});
