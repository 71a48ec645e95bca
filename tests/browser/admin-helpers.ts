/**
 * Shared steps of the admin-console and account browser tests: the server and browser they start from, a person
 * connecting an MCP client through the real OAuth flow (dynamic registration, the consent page clicked in Chromium,
 * PKCE code exchange), checking a token against /mcp/mcp. Browser errors are watched by tests/helpers/browser.ts.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Page } from "playwright-core";
import { launchBrowser, type TestBrowser } from "../helpers/browser.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

/** An admin by configuration (ADMIN_EMAILS) on the server startConsole starts. */
export const ADMIN = "admin@example.com";

/** The real server with development sign-in and ADMIN as its admin, and a Chromium; close the browser after. */
export async function startConsole(): Promise<{ server: TestServer; browser: TestBrowser }> {
  const server = await startTestServer({ ADMIN_EMAILS: ADMIN, AUTH_DEV_LOGIN: "true" });
  return { server, browser: await launchBrowser() };
}

export const PHONE = { width: 390, height: 844 };

/** Where registered test clients are sent back to; nothing listens there, the browser test intercepts it. */
export const CALLBACK = "http://127.0.0.1:8977/callback";

export interface Registered {
  client_id: string;
  client_name: string;
}

/** POST /api/oauth/register (RFC 7591 §3.1): a public client with refresh tokens. */
export async function registerClient(baseUrl: string, name: string): Promise<Registered> {
  const res = await fetch(`${baseUrl}/api/oauth/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      client_name: name,
      redirect_uris: [CALLBACK],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    }),
  });
  if (res.status !== 201) throw new Error(`registration failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as Registered;
}

/**
 * The signed-in person in `page` authorizes `client` on the consent page (clicking Allow); the code is exchanged
 * with its PKCE verifier (RFC 7636 §4.5) for tokens.
 */
export async function connectThroughConsent(
  page: Page,
  baseUrl: string,
  client: Registered,
): Promise<{ access_token: string; refresh_token?: string }> {
  const verifier = randomBytes(32).toString("base64url");
  const challenge = createHash("sha256").update(verifier).digest("base64url");
  const state = randomBytes(8).toString("hex");
  let callback: URL | null = null;
  await page.route(`${CALLBACK}**`, async (route) => {
    callback = new URL(route.request().url());
    await route.fulfill({ status: 200, contentType: "text/plain", body: "Signed in; you can close this window." });
  });
  const authorize = new URL(`${baseUrl}/oauth/authorize`);
  for (const [key, value] of Object.entries({
    response_type: "code",
    client_id: client.client_id,
    redirect_uri: CALLBACK,
    code_challenge: challenge,
    code_challenge_method: "S256",
    scope: "mcp:tools",
    state,
  })) {
    authorize.searchParams.set(key, value);
  }
  await page.goto(authorize.href);
  await page.getByRole("button", { name: "Allow" }).click();
  await page.waitForURL((url) => url.href.startsWith(CALLBACK));
  await page.unroute(`${CALLBACK}**`);
  const returned = callback as URL | null;
  if (!returned || returned.searchParams.get("state") !== state) throw new Error(`unexpected callback: ${returned?.href}`);
  const code = returned.searchParams.get("code");
  if (!code) throw new Error(`no code in ${returned.href}`);
  const res = await fetch(`${baseUrl}/api/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "authorization_code", code, code_verifier: verifier, client_id: client.client_id, redirect_uri: CALLBACK }),
  });
  const body = (await res.json()) as { access_token: string; refresh_token?: string };
  if (res.status !== 200) throw new Error(`token exchange failed: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

/** The HTTP status /mcp/mcp gives a `tools/list` with this bearer token (200 valid, 401 refused). */
export async function mcpStatus(baseUrl: string, accessToken: string): Promise<number> {
  const res = await fetch(`${baseUrl}/mcp/mcp`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${accessToken}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": "2025-11-25",
    },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
  });
  await res.body?.cancel();
  return res.status;
}

/** Waits until Remix has started in the browser (buttons that open dialogs or call the API need it). */
export async function hydrated(page: Page): Promise<void> {
  await page.waitForFunction(() => (window as unknown as { __remixRouter?: unknown }).__remixRouter !== undefined);
  await page.waitForLoadState("networkidle");
}

/**
 * Opens a confirmation dialog with `button` and presses its confirm button. Retries the opening click once in case
 * it landed before React attached its handler.
 */
export async function confirmThrough(page: Page, opener: ReturnType<Page["getByRole"]>, confirmLabel: string): Promise<void> {
  const dialog = page.getByRole("dialog");
  for (let attempt = 0; attempt < 3; attempt++) {
    await opener.click();
    if (await dialog.waitFor({ state: "visible", timeout: 2_000 }).then(() => true, () => false)) break;
  }
  await dialog.getByRole("button", { name: confirmLabel }).click();
  await dialog.waitFor({ state: "hidden" });
}
