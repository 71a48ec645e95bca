/**
 * End to end with the MCP TypeScript SDK's own client (1.32.x), configured with nothing but the server URL
 * (`APP_URL/mcp/mcp`): `auth()` discovers (RFC 9728 → RFC 8414), registers (RFC 7591), sends the person through
 * sign-in and consent in Chromium, exchanges the code, and later refreshes; then the SDK's Streamable HTTP client
 * lists the tools with the token it got.
 */
import { auth, type OAuthClientProvider } from "@modelcontextprotocol/sdk/client/auth.js";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from "@modelcontextprotocol/sdk/shared/auth.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, screenshot, type TestBrowser } from "../helpers/browser.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

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

/** An in-memory provider, as an MCP host application would write one. */
class MemoryProvider implements OAuthClientProvider {
  info?: OAuthClientInformationMixed;
  saved?: OAuthTokens;
  verifier = "";
  authorizationUrl?: URL;

  get redirectUrl() {
    return CALLBACK;
  }

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: "MCP SDK e2e",
      redirect_uris: [CALLBACK],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }

  clientInformation() {
    return this.info;
  }
  saveClientInformation(info: OAuthClientInformationMixed) {
    this.info = info;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens: OAuthTokens) {
    this.saved = tokens;
  }
  redirectToAuthorization(url: URL) {
    this.authorizationUrl = url;
  }
  saveCodeVerifier(verifier: string) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier;
  }
  invalidateCredentials(scope: "all" | "client" | "tokens" | "verifier" | "discovery") {
    if (scope === "all" || scope === "client") this.info = undefined;
    if (scope === "all" || scope === "tokens") this.saved = undefined;
  }
}

/** The person in the browser: sign in, look at the consent page, click Allow; returns the callback URL. */
async function personApproves(url: URL, email: string): Promise<URL> {
  const { page, context } = await browser.newPage();
  let callback: URL | undefined;
  await context.route("http://127.0.0.1:8977/**", (route) => {
    callback = new URL(route.request().url());
    return route.fulfill({ status: 200, contentType: "text/plain", body: "Authorized." });
  });
  try {
    await page.goto(url.href);
    await page.waitForURL((u) => u.pathname === "/login");
    await page.getByLabel("Email").fill(email);
    await page.getByRole("button", { name: "Sign in (development)" }).click();
    await page.getByRole("button", { name: "Allow" }).waitFor();
    await screenshot(page, "oauth-consent-mcp-sdk");
    await page.getByRole("button", { name: "Allow" }).click();
    await page.waitForURL((u) => u.href.startsWith("http://127.0.0.1:8977/"));
  } finally {
    await context.close();
  }
  expect(callback).toBeDefined();
  return callback!;
}

describe("MCP SDK client auth() against APP_URL/mcp/mcp (MCP 2025-11-25 Authorization)", () => {
  it("discovers, registers, authorizes through the browser, gets tokens, uses them, and refreshes", async () => {
    const serverUrl = `${server.env.APP_URL}/mcp/mcp`;
    const provider = new MemoryProvider();

    expect(await auth(provider, { serverUrl })).toBe("REDIRECT");
    expect(provider.info?.client_id).toMatch(/^mcpc_/);
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
    const tools = await client.listTools();
    expect(tools.tools.length).toBeGreaterThan(0);
    await client.close();

    // With a refresh token on file, auth() refreshes without the browser.
    expect(await auth(provider, { serverUrl })).toBe("AUTHORIZED");
    expect(provider.saved!.access_token).not.toBe(first.access_token);
    expect(provider.saved!.refresh_token).not.toBe(first.refresh_token);
  });

  it("after its registration is swept, the SDK gets invalid_client (401), forgets the client and registers again", async () => {
    const serverUrl = `${server.env.APP_URL}/mcp/mcp`;
    const provider = new MemoryProvider();
    expect(await auth(provider, { serverUrl })).toBe("REDIRECT");
    const callback = await personApproves(provider.authorizationUrl!, "sdk-swept@example.com");
    expect(await auth(provider, { serverUrl, authorizationCode: callback.searchParams.get("code")! })).toBe("AUTHORIZED");
    const oldClientId = provider.info!.client_id;
    // The sweep deletes registrations; simulate it for this one (its tokens go with it).
    await server.services.prisma.client.delete({ where: { clientId: oldClientId } });
    // auth() tries to refresh, gets invalid_client, invalidates its credentials and registers anew.
    expect(await auth(provider, { serverUrl })).toBe("REDIRECT");
    expect(provider.info!.client_id).toMatch(/^mcpc_/);
    expect(provider.info!.client_id).not.toBe(oldClientId);
  });
});
