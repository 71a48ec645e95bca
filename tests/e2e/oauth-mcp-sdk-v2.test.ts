/**
 * End to end with the MCP TypeScript SDK's v2 client (`@modelcontextprotocol/client` 2.4) pinned to the 2026-07-28
 * revision, configured with nothing but the server URL and a Client ID Metadata Document (the registration MCP
 * 2026-07-28 prefers): connect → 401 → Protected Resource Metadata → authorization server metadata → the metadata
 * document as client_id → sign-in and consent in Chromium → code exchange (with RFC 9207 `iss` checked by the SDK) →
 * `server/discover` → `tools/list` → `tools/call`. The v1 client's 2025-11-25 flow on the same URL is
 * oauth-mcp-sdk.test.ts.
 */
import {
  Client,
  StreamableHTTPClientTransport,
  type OAuthClientInformationMixed,
  type OAuthClientMetadata,
  type OAuthClientProvider,
  type OAuthDiscoveryState,
  type OAuthTokens,
} from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, type TestBrowser } from "../helpers/browser.ts";
import { internet } from "../helpers/internet.ts";
import { approveInChromium } from "../helpers/mcp-oauth.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

let server: TestServer;
let browser: TestBrowser;
const CALLBACK = "http://127.0.0.1:8978/mcp-sdk-v2/callback";
const DOCUMENT_URL = "https://client.example/mcp/sdk-v2-client.json";

beforeAll(async () => {
  server = await startTestServer({ RATE_LIMIT_ENABLED: "false" });
  browser = await launchBrowser();
  server.services.oauth.metadataDocuments.useNetwork(
    internet({
      [DOCUMENT_URL]: {
        client_id: DOCUMENT_URL,
        client_name: "MCP SDK v2 e2e",
        redirect_uris: [CALLBACK],
        grant_types: ["authorization_code", "refresh_token"],
        response_types: ["code"],
        token_endpoint_auth_method: "none",
      },
    }),
  );
});

afterAll(async () => {
  await browser?.close();
});

/** An MCP host's provider: it records the authorization URL instead of opening a browser. */
class HostProvider implements OAuthClientProvider {
  readonly clientMetadataUrl = DOCUMENT_URL;
  information: OAuthClientInformationMixed | undefined;
  saved: OAuthTokens | undefined;
  verifier = "";
  discovery: OAuthDiscoveryState | undefined;
  authorizationUrl: URL | undefined;

  get redirectUrl(): string {
    return CALLBACK;
  }
  get clientMetadata(): OAuthClientMetadata {
    return { client_name: "MCP SDK v2 e2e", redirect_uris: [CALLBACK], token_endpoint_auth_method: "none" } as OAuthClientMetadata;
  }
  clientInformation() {
    return this.information;
  }
  saveClientInformation(information: OAuthClientInformationMixed) {
    this.information = information;
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
  saveDiscoveryState(state: OAuthDiscoveryState) {
    this.discovery = state;
  }
  discoveryState() {
    return this.discovery;
  }
}

const pinned = () => new Client({ name: "sdk-v2-e2e", version: "1.0.0" }, { versionNegotiation: { mode: { pin: "2026-07-28" } } });

describe("MCP SDK v2 client at 2026-07-28 against APP_URL/mcp/mcp (MCP 2026-07-28 Authorization)", () => {
  it("authorizes with a Client ID Metadata Document through the browser, then discovers, lists and calls tools", { timeout: 60_000 }, async () => {
    const mcpUrl = new URL(`${server.url}/mcp/mcp`);
    const provider = new HostProvider();

    const first = new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider });
    await expect(pinned().connect(first)).rejects.toThrow(/unauthori[sz]ed/i);
    const authorizationUrl = provider.authorizationUrl!;
    expect(authorizationUrl.origin + authorizationUrl.pathname).toBe(`${server.env.APP_URL}/oauth/authorize`);
    expect(authorizationUrl.searchParams.get("client_id")).toBe(DOCUMENT_URL);
    expect(authorizationUrl.searchParams.get("code_challenge_method")).toBe("S256");
    expect(authorizationUrl.searchParams.get("resource")).toBe(mcpUrl.href);

    let consentText = "";
    const callback = await approveInChromium(browser, authorizationUrl.href, {
      email: "sdk-v2-person@example.com",
      callbackPrefix: "http://127.0.0.1:8978/",
      screenshot: "oauth-consent-mcp-sdk-v2",
      onConsent: async (page) => {
        consentText = await page.locator("main").innerText();
      },
    });
    // The consent page names the redirect host and warns that every redirect URI is this computer's (loopback).
    expect(consentText).toContain("127.0.0.1");
    expect(consentText).toMatch(/only to this computer/i);
    expect(callback.searchParams.get("iss")).toBe(server.env.APP_URL);
    await first.finishAuth(callback.searchParams);
    expect(provider.saved?.access_token).toMatch(/^mcpat_/);
    // The client asked for what the 401 named: the least privilege (mcp:tools:read); write tools would step up.
    expect(provider.saved?.scope).toBe("mcp:tools:read");

    const client = pinned();
    await client.connect(new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider }));
    expect(client.getProtocolEra()).toBe("modern");
    expect(client.getNegotiatedProtocolVersion()).toBe("2026-07-28");
    expect(client.getServerVersion()?.name).toBe("mcp-oauth-server");
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(["whoami", "list_connected_apps", "revoke_connected_app"]);
    const result = await client.callTool({ name: "whoami", arguments: {} });
    expect(result.isError).toBeFalsy();
    expect((result.structuredContent as { user: { email: string } }).user.email).toBe("sdk-v2-person@example.com");
    expect((result.structuredContent as { client: { clientId: string } }).client.clientId).toBe(DOCUMENT_URL);
    await client.close();
  });
});
