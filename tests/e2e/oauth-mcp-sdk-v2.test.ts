/**
 * End to end with the MCP TypeScript SDK's v2 client (`@modelcontextprotocol/client` 2.4) pinned to the 2026-07-28
 * revision, configured with nothing but the server URL and a Client ID Metadata Document (the registration MCP
 * 2026-07-28 prefers): connect → 401 → Protected Resource Metadata → authorization server metadata → the metadata
 * document as client_id → sign-in and consent in Chromium → code exchange (with RFC 9207 `iss` checked by the SDK) →
 * `server/discover` → `tools/list` → `tools/call`. The v1 client's 2025-11-25 flow on the same URL is
 * oauth-mcp-sdk.test.ts.
 *
 * Then the same client with a DPoP key (`DpopSession`, RFC 9449: bound tokens, proofs on every request, the token
 * endpoint's nonce) stepping up: it starts with the least privilege the 401 names, calls a write tool, gets the 403
 * naming the union of scopes, re-authorizes through the incremental consent page (Chromium) and the call succeeds.
 */
import {
  Client,
  DpopSession,
  StreamableHTTPClientTransport,
  type OAuthClientInformationMixed,
  type OAuthClientMetadata,
  type OAuthClientProvider,
  type OAuthDiscoveryState,
  type OAuthTokens,
} from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, type TestBrowser } from "../helpers/browser.ts";
import { InMemoryOAuthClient } from "../helpers/in-memory-oauth-client.ts";
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

/** An MCP host's provider: a Client ID Metadata Document as its client_id, the discovery state and, maybe, a DPoP key. */
class HostProvider extends InMemoryOAuthClient<OAuthClientInformationMixed, OAuthTokens> implements OAuthClientProvider {
  readonly clientMetadataUrl = DOCUMENT_URL;
  discovery: OAuthDiscoveryState | undefined;
  /** A DPoP key, when the host uses one (RFC 9449). */
  session: DpopSession | undefined;

  dpop() {
    return this.session;
  }
  get redirectUrl(): string {
    return CALLBACK;
  }
  get clientMetadata(): OAuthClientMetadata {
    return { client_name: "MCP SDK v2 e2e", redirect_uris: [CALLBACK], token_endpoint_auth_method: "none" } as OAuthClientMetadata;
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

  it("with a DPoP key: bound tokens, then step-up to a write tool through incremental consent", { timeout: 90_000 }, async () => {
    const mcpUrl = new URL(`${server.url}/mcp/mcp`);
    const provider = new HostProvider();
    provider.session = await DpopSession.create({ alg: "ES256" });

    const first = new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider });
    await expect(pinned().connect(first)).rejects.toThrow(/unauthori[sz]ed/i);
    const narrow = await approveInChromium(browser, provider.authorizationUrl!.href, {
      email: "sdk-v2-dpop@example.com",
      callbackPrefix: "http://127.0.0.1:8978/",
    });
    await first.finishAuth(narrow.searchParams);
    expect(provider.saved?.token_type?.toLowerCase()).toBe("dpop");
    expect(provider.saved?.scope).toBe("mcp:tools:read");
    const prisma = server.services.prisma;
    const bound = await prisma.accessToken.findFirst({ where: { user: { email: "sdk-v2-dpop@example.com" } } });
    expect(bound?.dpopJkt).toBeTruthy();

    const client = pinned();
    const transport = new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider });
    await client.connect(transport);
    const { apps } = (await client.callTool({ name: "list_connected_apps", arguments: {} })).structuredContent as { apps: Array<{ grantId: string }> };
    expect(apps).toHaveLength(1);

    // A write tool: 403 insufficient_scope naming read + write; the SDK re-authorizes for the union.
    provider.authorizationUrl = undefined;
    await expect(client.callTool({ name: "revoke_connected_app", arguments: { grantId: "no-such-grant" } })).rejects.toThrow(/unauthori[sz]ed/i);
    const stepUp = provider.authorizationUrl as URL | undefined;
    expect(stepUp?.searchParams.get("scope")?.split(" ").sort()).toEqual(["mcp:tools:read", "mcp:tools:write"]);
    let consentText = "";
    const wide = await approveInChromium(browser, stepUp!.href, {
      email: "sdk-v2-dpop@example.com",
      callbackPrefix: "http://127.0.0.1:8978/",
      screenshot: "oauth-consent-step-up",
      onConsent: async (page) => {
        consentText = await page.locator("main").innerText();
      },
    });
    // The page names the tool each new scope is for. (This client's identity is a metadata document with a loopback
    // redirect URI, which any local program can present, so nothing earlier counts as "already allowed": RFC 8252
    // §8.6. The remembered-scope half of incremental consent is int/oauth-authorize.test.ts.)
    expect(consentText).toContain("revoke_connected_app");
    await transport.finishAuth(wide.searchParams);
    expect(provider.saved?.scope?.split(" ").sort()).toEqual(["mcp:tools:read", "mcp:tools:write"]);

    const retried = await client.callTool({ name: "revoke_connected_app", arguments: { grantId: "no-such-grant" } });
    expect(JSON.stringify(retried)).not.toMatch(/insufficient_scope/);
    // One grant, widened: not a second one.
    const grants = await prisma.grant.findMany({ where: { user: { email: "sdk-v2-dpop@example.com" }, revokedAt: null } });
    expect(grants).toHaveLength(1);
    expect(grants[0]!.scope.split(" ").sort()).toEqual(["mcp:tools:read", "mcp:tools:write"]);
    await client.close();
  });
});
