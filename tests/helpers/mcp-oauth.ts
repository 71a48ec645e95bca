/**
 * Real tokens from our authorization server, obtained the way an MCP client does it: the MCP SDK client's own OAuth
 * support (`OAuthClientProvider` + `auth()`: 401 -> Protected Resource Metadata -> authorization server metadata ->
 * dynamic registration -> PKCE authorization request -> code exchange), with a person signed in through the
 * development sign-in who clicks "Allow" on the real consent page, over HTTP (`consent`) or in Chromium
 * (`approveInChromium`). The HTTP-level pieces (cookie jar, sign-in, consent form, client metadata) are
 * tests/integration/oauth-support.ts's.
 */
import type { OAuthClientProvider } from "@modelcontextprotocol/sdk/client/auth.js";
import { auth } from "@modelcontextprotocol/sdk/client/auth.js";
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from "@modelcontextprotocol/sdk/shared/auth.js";
import type { Page } from "playwright-core";
import { expect } from "vitest";
import { authorizeThroughConsent, publicClient, signIn, type CookieJar } from "../integration/oauth-support.ts";
import { screenshot, type TestBrowser } from "./browser.ts";
import { InMemoryOAuthClient } from "./in-memory-oauth-client.ts";

export const MCP_REDIRECT_URI = "http://127.0.0.1:8976/mcp-callback";

export interface TestOAuthProviderOptions {
  /** The scope the client registers and asks for; `null` for none (the SDK then asks for what the PRM lists). */
  scope?: string | null;
  redirectUrl?: string;
  clientName?: string;
}

/**
 * An in-memory OAuthClientProvider, as an MCP host application would write one: it records the authorization URL
 * instead of opening a browser, and forgets what the SDK tells it to (`invalidateCredentials`, e.g. after a
 * registration was swept).
 */
export class TestOAuthProvider extends InMemoryOAuthClient<OAuthClientInformationMixed, OAuthTokens> implements OAuthClientProvider {
  private readonly options: Required<Omit<TestOAuthProviderOptions, "scope">> & { scope: string | null };

  constructor(scopeOrOptions: string | TestOAuthProviderOptions = {}) {
    super();
    const options = typeof scopeOrOptions === "string" ? { scope: scopeOrOptions } : scopeOrOptions;
    this.options = {
      scope: options.scope === undefined ? "mcp:tools" : options.scope,
      redirectUrl: options.redirectUrl ?? MCP_REDIRECT_URI,
      clientName: options.clientName ?? "MCP SDK test client",
    };
  }

  get redirectUrl(): string {
    return this.options.redirectUrl;
  }

  get clientMetadata(): OAuthClientMetadata {
    return publicClient({
      client_name: this.options.clientName,
      redirect_uris: [this.options.redirectUrl],
      ...(this.options.scope ? { scope: this.options.scope } : {}),
    }) as OAuthClientMetadata;
  }

  invalidateCredentials(scope: "all" | "client" | "tokens" | "verifier" | "discovery") {
    if (scope === "all" || scope === "client") this.information = undefined;
    if (scope === "all" || scope === "tokens") this.saved = undefined;
  }
}

/** Signs `email` in with the development sign-in; the cookie jar is the "browser" that will consent. */
export function signedInBrowser(baseUrl: string, email: string): Promise<CookieJar> {
  return signIn(baseUrl, email);
}

/**
 * Follows an authorization URL as the signed-in person: the consent page, then "Allow". Returns the code from the
 * redirect to the client.
 */
export async function consent(browser: CookieJar, authorizationUrl: URL, redirectUri = MCP_REDIRECT_URI): Promise<string> {
  const { location } = await authorizeThroughConsent(browser, authorizationUrl.href);
  expect(`${location.origin}${location.pathname}`).toBe(redirectUri);
  const code = location.searchParams.get("code");
  expect(code, location.href).toBeTruthy();
  return code!;
}

/**
 * The person in Chromium: opens `url`, signs in on the real sign-in page, looks at the consent page (`onConsent`,
 * a screenshot), clicks Allow. The client's callback is intercepted (nothing listens there); resolves its URL.
 */
export async function approveInChromium(
  browser: TestBrowser,
  url: string,
  options: { email: string; callbackPrefix: string; screenshot?: string; onConsent?: (page: Page) => Promise<void> },
): Promise<URL> {
  const { page, context } = await browser.newPage();
  let callback: URL | undefined;
  await context.route(`${options.callbackPrefix}**`, (route) => {
    callback = new URL(route.request().url());
    return route.fulfill({ status: 200, contentType: "text/plain", body: "You can close this window." });
  });
  try {
    await page.goto(url);
    await page.waitForURL((u) => u.pathname === "/login");
    await page.getByLabel("Email").fill(options.email);
    await page.getByRole("button", { name: "Sign in (development)" }).click();
    await page.getByRole("button", { name: "Allow" }).waitFor();
    await options.onConsent?.(page);
    if (options.screenshot) await screenshot(page, options.screenshot);
    await page.getByRole("button", { name: "Allow" }).click();
    await page.waitForURL((u) => u.href.startsWith(options.callbackPrefix));
  } finally {
    await context.close();
  }
  expect(callback).toBeDefined();
  return callback!;
}

/**
 * The SDK's whole OAuth dance against `mcpUrl` for the signed-in `browser`; resolves the provider holding tokens.
 * The token is bound to the resource of `mcpUrl` (its Protected Resource Metadata), as the SDK asks for it.
 */
export async function authorizeWithSdk(mcpUrl: string, browser: CookieJar, scope = "mcp:tools"): Promise<TestOAuthProvider> {
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
