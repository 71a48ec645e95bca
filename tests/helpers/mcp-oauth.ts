/**
 * Real tokens from our authorization server, obtained the way an MCP client does it: the MCP SDK client's own OAuth
 * support (`OAuthClientProvider` + `auth()`: 401 -> Protected Resource Metadata -> authorization server metadata ->
 * dynamic registration -> PKCE authorization request -> code exchange), with a person signed in through the
 * development sign-in who clicks "Allow" on the real consent page.
 */
import type { OAuthClientProvider } from "@modelcontextprotocol/sdk/client/auth.js";
import { auth } from "@modelcontextprotocol/sdk/client/auth.js";
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from "@modelcontextprotocol/sdk/shared/auth.js";
import { expect } from "vitest";
import { HttpSession } from "./http-session.ts";

export const MCP_REDIRECT_URI = "http://127.0.0.1:8976/mcp-callback";

/** An in-memory OAuthClientProvider that records the authorization URL instead of opening a browser. */
export class TestOAuthProvider implements OAuthClientProvider {
  information: OAuthClientInformationMixed | undefined;
  saved: OAuthTokens | undefined;
  verifier = "";
  authorizationUrl: URL | undefined;

  constructor(private readonly scope = "mcp:tools") {}

  get redirectUrl(): string {
    return MCP_REDIRECT_URI;
  }

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: "MCP SDK test client",
      redirect_uris: [MCP_REDIRECT_URI],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
      scope: this.scope,
    };
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
}

/** Signs `email` in with the development sign-in; the session is the "browser" that will consent. */
export async function signedInBrowser(baseUrl: string, email: string): Promise<HttpSession> {
  const browser = new HttpSession(baseUrl);
  const res = await browser.devSignIn(email);
  expect(res.status).toBe(302);
  return browser;
}

/**
 * Follows an authorization URL as the signed-in person: the consent page, then "Allow". Returns the code from the
 * redirect to the client.
 */
export async function consent(browser: HttpSession, authorizationUrl: URL): Promise<string> {
  let res = await browser.fetch(authorizationUrl.href);
  if (res.status === 200) {
    const html = await res.text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
    expect(csrf, html.slice(0, 300)).toBeTruthy();
    res = await browser.postForm(authorizationUrl.pathname + authorizationUrl.search, { csrf: csrf!, decision: "allow" });
  }
  expect(res.status).toBe(302);
  const location = new URL(res.headers.get("location")!);
  expect(`${location.origin}${location.pathname}`).toBe(MCP_REDIRECT_URI);
  const code = location.searchParams.get("code");
  expect(code, location.href).toBeTruthy();
  return code!;
}

/**
 * The SDK's whole OAuth dance against `mcpUrl` for the signed-in `browser`; resolves the provider holding tokens.
 * The token is bound to the resource of `mcpUrl` (its Protected Resource Metadata), as the SDK asks for it.
 */
export async function authorizeWithSdk(mcpUrl: string, browser: HttpSession, scope = "mcp:tools"): Promise<TestOAuthProvider> {
  const provider = new TestOAuthProvider(scope);
  // Discovery starts from the 401's WWW-Authenticate resource_metadata, like a real client.
  const probe = mcpUrl.endsWith("/sse")
    ? await fetch(mcpUrl, { headers: { accept: "text/event-stream" } })
    : await fetch(mcpUrl, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }),
      });
  expect(probe.status).toBe(401);
  const resourceMetadataUrl = /resource_metadata="([^"]+)"/.exec(probe.headers.get("www-authenticate") ?? "")?.[1];
  expect(resourceMetadataUrl).toBeTruthy();
  const first = await auth(provider, { serverUrl: mcpUrl, resourceMetadataUrl: new URL(resourceMetadataUrl!), scope });
  expect(first).toBe("REDIRECT");
  const code = await consent(browser, provider.authorizationUrl!);
  const second = await auth(provider, {
    serverUrl: mcpUrl,
    resourceMetadataUrl: new URL(resourceMetadataUrl!),
    authorizationCode: code,
    scope,
  });
  expect(second).toBe("AUTHORIZED");
  expect(provider.saved?.access_token).toMatch(/^mcpat_/);
  return provider;
}
