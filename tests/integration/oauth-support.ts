/**
 * Helpers for the OAuth tests (integration, security, e2e, and the MCP SDK helpers in tests/helpers/mcp-oauth.ts): a
 * tiny cookie jar, the development sign-in over HTTP (the real form with its CSRF token), registration, the
 * authorization request through the real consent form, the token endpoint, domain events, and the usual set-up of a
 * test file (`startOAuthFixture`).
 */
import { createHash, randomBytes } from "node:crypto";
import { expect } from "vitest";
import type { DomainEvents } from "../../server/events.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

export class CookieJar {
  private readonly cookies = new Map<string, string>();

  store(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (/max-age=0/i.test(line) || value === "") this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }

  has(name: string): boolean {
    return this.cookies.has(name);
  }
}

/** Fetch with the jar's cookies, no redirect following. */
export async function browse(jar: CookieJar, url: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const cookie = jar.header();
  if (cookie) headers.set("cookie", cookie);
  const response = await fetch(url, { ...init, headers, redirect: "manual" });
  jar.store(response);
  return response;
}

export function hiddenField(html: string, name: string): string {
  const match = new RegExp(`name="${name}" value="([^"]*)"`).exec(html) ?? new RegExp(`value="([^"]*)" name="${name}"`).exec(html);
  if (!match) throw new Error(`no hidden field ${name} in page`);
  return match[1].replace(/&amp;/g, "&");
}

/** Signs in through the development sign-in form (GET for the CSRF token, then POST). */
export async function signIn(baseUrl: string, email: string, jar = new CookieJar()): Promise<CookieJar> {
  const page = await browse(jar, `${baseUrl}/login`);
  const csrf = hiddenField(await page.text(), "csrf");
  const res = await browse(jar, `${baseUrl}/login`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ csrf, email, returnTo: "/" }),
  });
  expect(res.status).toBe(302);
  expect(jar.has("__session")).toBe(true);
  return jar;
}

export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

export interface RegisteredClient {
  client_id: string;
  client_secret?: string;
  redirect_uris: string[];
  [key: string]: unknown;
}

export async function register(baseUrl: string, body: Record<string, unknown>): Promise<RegisteredClient> {
  const res = await fetch(`${baseUrl}/api/oauth/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const json = await res.json();
  expect(res.status, JSON.stringify(json)).toBe(201);
  return json as RegisteredClient;
}

export const REDIRECT = "http://127.0.0.1:8976/callback";

/** A public client (token_endpoint_auth_method none) with refresh tokens. */
export function publicClient(overrides: Record<string, unknown> = {}) {
  return {
    client_name: "Test Client",
    redirect_uris: [REDIRECT],
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    token_endpoint_auth_method: "none",
    ...overrides,
  };
}

export function authorizeUrl(baseUrl: string, params: Record<string, string | undefined>): string {
  const url = new URL(`${baseUrl}/oauth/authorize`);
  for (const [key, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(key, value);
  return url.href;
}

/**
 * Goes through the authorization endpoint as a signed-in person: GET, and if the consent page shows, submits
 * `decision` with the page's CSRF token. Returns the final redirect Location (to the client).
 */
export async function authorizeThroughConsent(
  jar: CookieJar,
  url: string,
  decision: "allow" | "deny" = "allow",
): Promise<{ location: URL; consentShown: boolean }> {
  const res = await browse(jar, url);
  if (res.status === 302) return { location: new URL(res.headers.get("location")!), consentShown: false };
  const html = await res.text();
  expect(res.status, html.slice(0, 500)).toBe(200);
  const csrf = hiddenField(html, "csrf");
  const post = await browse(jar, url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ csrf, decision }),
  });
  expect(post.status, await post.clone().text()).toBe(302);
  return { location: new URL(post.headers.get("location")!), consentShown: true };
}

/** A full flow for a public client: returns the code and the verifier. */
export async function obtainCode(
  baseUrl: string,
  jar: CookieJar,
  clientId: string,
  extra: Record<string, string | undefined> = {},
): Promise<{ code: string; verifier: string; location: URL }> {
  const { verifier, challenge } = pkce();
  const { location } = await authorizeThroughConsent(
    jar,
    authorizeUrl(baseUrl, {
      response_type: "code",
      client_id: clientId,
      redirect_uri: REDIRECT,
      code_challenge: challenge,
      code_challenge_method: "S256",
      state: "xyz",
      ...extra,
    }),
  );
  const code = location.searchParams.get("code");
  expect(code, location.href).toBeTruthy();
  return { code: code!, verifier, location };
}

export async function tokenRequest(
  baseUrl: string,
  params: Record<string, string | undefined>,
  init: { headers?: Record<string, string>; json?: boolean } = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const clean = Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined)) as Record<string, string>;
  const res = await fetch(`${baseUrl}/api/oauth/token`, {
    method: "POST",
    headers: { "content-type": init.json ? "application/json" : "application/x-www-form-urlencoded", ...init.headers },
    body: init.json ? JSON.stringify(clean) : new URLSearchParams(clean),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {}, headers: res.headers };
}

export function basic(id: string, secret: string): string {
  return "Basic " + Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString("base64");
}

/** Authorization + code exchange for a public client; returns the token response body. */
export async function issueTokens(
  baseUrl: string,
  jar: CookieJar,
  client: RegisteredClient,
  extra: Record<string, string | undefined> = {},
): Promise<Record<string, unknown>> {
  const { code, verifier } = await obtainCode(baseUrl, jar, client.client_id, extra);
  const result = await tokenRequest(baseUrl, {
    grant_type: "authorization_code",
    code,
    code_verifier: verifier,
    client_id: client.client_id,
    redirect_uri: REDIRECT,
  });
  expect(result.status, JSON.stringify(result.body)).toBe(200);
  return result.body;
}

/** An MCP request with a bearer token (status only). */
export async function mcpStatus(baseUrl: string, accessToken: string, path = "/mcp/mcp"): Promise<number> {
  const res = await fetch(baseUrl + path, {
    method: "POST",
    headers: { authorization: `Bearer ${accessToken}`, "content-type": "application/json", accept: "application/json, text/event-stream" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
  });
  await res.body?.cancel();
  return res.status;
}

/** Records the server's `name` events from now until `stop()`. */
export function collectEvents<K extends keyof DomainEvents>(server: TestServer, name: K): { events: DomainEvents[K][]; stop: () => void } {
  const events: DomainEvents[K][] = [];
  const stop = server.services.events.on(name, (e) => events.push(e));
  return { events, stop };
}

export interface OAuthFixture {
  server: TestServer;
  /** APP_URL (the issuer). */
  app: string;
  /** A public client (`publicClient(options.client)`). */
  client: RegisteredClient;
  /** A person signed in with the development sign-in. */
  jar: CookieJar;
}

/**
 * The usual start of an OAuth test file: a server (rate limits off unless `env` says otherwise), one registered
 * public client and one signed-in person.
 */
export async function startOAuthFixture(
  options: { env?: Record<string, string>; client?: Record<string, unknown>; email?: string } = {},
): Promise<OAuthFixture> {
  const server = await startTestServer({ RATE_LIMIT_ENABLED: "false", ...options.env });
  const client = await register(server.url, publicClient(options.client));
  const jar = await signIn(server.url, options.email ?? "person@example.com");
  return { server, app: server.env.APP_URL, client, jar };
}
