/**
 * A stand-in MCP client for the connection-doctor tests: each one comes from its own address (X-Forwarded-For,
 * believed with TRUST_PROXY) with its own User-Agent, as hosted connectors do, and takes the steps of MCP
 * Authorization over HTTP against the real server: the 401 challenge, discovery, registration, the authorization
 * request through the real sign-in and consent form, the code exchange, refresh, MCP calls. The doctor is read
 * through the tRPC API as an admin.
 */
import { randomBytes } from "node:crypto";
import { expect } from "vitest";
import { createCaller, type AppCaller } from "../../server/trpc/root.ts";
import { startChallengeStrippingProxy } from "../helpers/challenge-stripping-proxy.ts";
import type { TestServer } from "../helpers/server.ts";
import { browse, CookieJar, hiddenField, pkce, REDIRECT } from "./oauth-support.ts";

export const DOCTOR_ADMIN = "doctor-admin@example.com";

let counter = 0;

export class StandInClient {
  readonly ip: string;
  readonly agent: string;
  clientId = "";
  /** The person's browser, signed in (same address: a desktop client and its browser share it). */
  readonly jar = new CookieJar();

  constructor(
    readonly server: TestServer,
    name: string,
    ip?: string,
  ) {
    counter += 1;
    this.ip = ip ?? `203.0.113.${counter + 10}`;
    this.agent = `${name}/1.0 (doctor test ${randomBytes(3).toString("hex")})`;
  }

  /** The public host a trusted proxy in front reports (X-Forwarded-Host), when it is not APP_URL's. */
  forwardedHost: string | null = null;

  headers(extra: Record<string, string> = {}, ip = this.ip): Record<string, string> {
    return { "x-forwarded-for": ip, "user-agent": this.agent, ...(this.forwardedHost ? { "x-forwarded-host": this.forwardedHost } : {}), ...extra };
  }

  async fetch(path: string, init: RequestInit & { ip?: string; base?: string } = {}): Promise<Response> {
    const { ip, base, ...rest } = init;
    const res = await fetch(`${base ?? this.server.url}${path}`, { ...rest, headers: this.headers(rest.headers as Record<string, string>, ip) });
    await res.arrayBuffer();
    return res;
  }

  mcp(token?: string, extra: Record<string, string> = {}, base?: string): Promise<Response> {
    return this.fetch("/mcp/mcp", {
      method: "POST",
      base,
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...extra,
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } } }),
    });
  }

  async discover(base?: string): Promise<void> {
    expect((await this.fetch("/.well-known/oauth-protected-resource/mcp/mcp", { base })).status).toBe(200);
    expect((await this.fetch("/.well-known/oauth-authorization-server", { base })).status).toBe(200);
  }

  async register(redirectUris = [REDIRECT], base?: string): Promise<string> {
    const res = await fetch(`${base ?? this.server.url}/api/oauth/register`, {
      method: "POST",
      headers: this.headers({ "content-type": "application/json" }),
      body: JSON.stringify({
        client_name: `Doctor ${this.agent.split("/")[0]}`,
        redirect_uris: redirectUris,
        grant_types: ["authorization_code", "refresh_token"],
        response_types: ["code"],
        token_endpoint_auth_method: "none",
      }),
    });
    const body = (await res.json()) as { client_id: string };
    expect(res.status, JSON.stringify(body)).toBe(201);
    this.clientId = body.client_id;
    return this.clientId;
  }

  /** Signs the person in through the development sign-in form, from this client's address. */
  async signIn(email: string): Promise<void> {
    const page = await browse(this.jar, `${this.server.url}/login`, { headers: this.headers() });
    const csrf = hiddenField(await page.text(), "csrf");
    const res = await browse(this.jar, `${this.server.url}/login`, {
      method: "POST",
      headers: this.headers({ "content-type": "application/x-www-form-urlencoded" }),
      body: new URLSearchParams({ csrf, email, returnTo: "/" }),
    });
    expect(res.status).toBe(302);
  }

  /** GET /oauth/authorize as the signed-in person; through the consent form when it shows. */
  async authorize(params: Record<string, string>, base?: string): Promise<{ status: number; location: URL | null; verifier: string }> {
    const { verifier, challenge } = pkce();
    const url = new URL(`${base ?? this.server.url}/oauth/authorize`);
    const all = { response_type: "code", client_id: this.clientId, redirect_uri: REDIRECT, code_challenge: challenge, code_challenge_method: "S256", state: "s", ...params };
    for (const [k, v] of Object.entries(all)) url.searchParams.set(k, v);
    const res = await browse(this.jar, url.href, { headers: this.headers() });
    if (res.status === 302) return { status: 302, location: new URL(res.headers.get("location")!), verifier };
    const html = await res.text();
    if (res.status !== 200) return { status: res.status, location: null, verifier };
    const post = await browse(this.jar, url.href, {
      method: "POST",
      headers: this.headers({ "content-type": "application/x-www-form-urlencoded", origin: new URL(url).origin }),
      body: new URLSearchParams({ csrf: hiddenField(html, "csrf"), decision: "allow" }),
    });
    expect(post.status).toBe(302);
    return { status: 302, location: new URL(post.headers.get("location")!), verifier };
  }

  async token(params: Record<string, string>, ip?: string): Promise<{ status: number; body: Record<string, string> }> {
    const res = await fetch(`${this.server.url}/api/oauth/token`, {
      method: "POST",
      headers: this.headers({ "content-type": "application/x-www-form-urlencoded" }, ip),
      body: new URLSearchParams({ client_id: this.clientId, ...params }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, string> };
  }

  /** Registration, sign-in, consent and the code exchange: the tokens. */
  async connect(email: string, authorizeParams: Record<string, string> = {}): Promise<{ access_token: string; refresh_token: string }> {
    if (!this.clientId) await this.register();
    await this.signIn(email);
    const { location, verifier } = await this.authorize(authorizeParams);
    const code = location?.searchParams.get("code");
    expect(code, location?.href).toBeTruthy();
    const { status, body } = await this.token({ grant_type: "authorization_code", code: code!, code_verifier: verifier, redirect_uri: REDIRECT });
    expect(status, JSON.stringify(body)).toBe(200);
    return body as { access_token: string; refresh_token: string };
  }
}

/** An admin's tRPC caller on `server` (ADMIN_EMAILS must name DOCTOR_ADMIN). */
export async function adminCaller(server: TestServer): Promise<AppCaller> {
  const { setCookie } = await server.services.auth.signIn({ email: DOCTOR_ADMIN, provider: "dev", providerAccountId: DOCTOR_ADMIN });
  return createCaller(server.services, new Request(`${server.env.APP_URL}/api/trpc`, { headers: { cookie: setCookie.split(";")[0], origin: server.env.APP_URL } }));
}

/** Waits for the responses' `finish` events, then writes the buffered analytics rows. */
export async function recorded(server: TestServer): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 50));
  await server.services.analytics.flush();
}

/** The row id of a registered client. */
export async function clientRowId(server: TestServer, clientId: string): Promise<string> {
  const row = await server.services.prisma.client.findUnique({ where: { clientId }, select: { id: true } });
  expect(row).not.toBeNull();
  return row!.id;
}

/**
 * Each common cause of "my client can't connect", provoked against `server` (started with TRUST_PROXY, and
 * RATE_LIMIT_MCP_PER_IP=4 for the rate limit). Each returns the stand-in client (or the address) the doctor is
 * then asked about, and the tokens it received (none may appear in the doctor's answers).
 */
export const provoke = {
  /** APP_URL names 127.0.0.1; the client calls the server as localhost and asks for that resource. */
  async resourceMismatch(server: TestServer): Promise<{ client: StandInClient; called: string }> {
    const called = server.url.replace("127.0.0.1", "localhost");
    const client = new StandInClient(server, "misaddressed");
    // Through the proxy in front (trusted), which reports the host the client called.
    client.forwardedHost = new URL(called).host;
    expect((await client.mcp(undefined, {}, called)).status).toBe(401);
    await client.discover(called);
    await client.register([REDIRECT], called);
    await client.signIn("misaddressed@example.com");
    const answer = await client.authorize({ resource: `${called}/mcp/mcp` });
    expect(answer.location?.searchParams.get("error") ?? "error page").toMatch(/invalid_target|error page/);
    return { client, called };
  },

  /**
   * A proxy in front that strips WWW-Authenticate and answers /.well-known itself (404): the client gets a 401
   * without a challenge and falls back to the well-known URI (RFC 9728 §3.1), which never reaches the server.
   */
  async proxyStripsChallenge(server: TestServer, ip: string): Promise<void> {
    const proxy = await startChallengeStrippingProxy(server.url, {
      hideWellKnown: true,
      // The public address is APP_URL's (X-Forwarded-Host): only the proxy's header handling is wrong.
      forwardHeaders: (req) => ({ ...req.headers, "x-forwarded-for": ip, "x-forwarded-host": new URL(server.url).host }),
    });
    try {
      const client = new StandInClient(server, "proxied", ip);
      const res = await client.mcp(undefined, {}, proxy.url);
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toBeNull();
      expect((await client.fetch("/.well-known/oauth-protected-resource/mcp/mcp", { base: proxy.url })).status).toBe(404);
    } finally {
      proxy.close();
    }
  },

  /** A token for the SSE endpoint used on /mcp/mcp (RFC 8707 audience). */
  async wrongAudience(server: TestServer): Promise<{ client: StandInClient; tokens: string[] }> {
    const client = new StandInClient(server, "sse-token");
    const tokens = await client.connect("audience@example.com", { resource: `${server.env.APP_URL}/mcp/sse` });
    expect((await client.mcp(tokens.access_token)).status).toBe(401);
    return { client, tokens: [tokens.access_token, tokens.refresh_token] };
  },

  async unregisteredRedirect(server: TestServer): Promise<{ client: StandInClient }> {
    const client = new StandInClient(server, "wrong-redirect");
    await client.register();
    await client.signIn("redirect@example.com");
    expect((await client.authorize({ redirect_uri: "http://app.example/elsewhere" })).status).toBe(400);
    return { client };
  },

  /** A browser-based client whose Origin the server does not allow calls /mcp/mcp with its token. */
  async originRefused(server: TestServer): Promise<{ client: StandInClient; tokens: string[] }> {
    const client = new StandInClient(server, "browser-app");
    const tokens = await client.connect("origin@example.com");
    expect((await client.mcp(tokens.access_token, { origin: "https://app.example" })).status).toBe(403);
    return { client, tokens: [tokens.access_token, tokens.refresh_token] };
  },

  /** More MCP calls from one address than RATE_LIMIT_MCP_PER_IP (4) allows. */
  async rateLimited(server: TestServer): Promise<{ client: StandInClient; tokens: string[] }> {
    const client = new StandInClient(server, "busy-office");
    const tokens = await client.connect("office@example.com");
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await client.mcp(tokens.access_token)).status);
    expect(statuses.at(-1)).toBe(429);
    return { client, tokens: [tokens.access_token, tokens.refresh_token] };
  },

  /** A refresh token used once, then again from a second address (RFC 9700 §4.14.2). */
  async refreshReplayed(server: TestServer, secondIp: string): Promise<{ client: StandInClient; tokens: string[] }> {
    const client = new StandInClient(server, "two-egress");
    const tokens = await client.connect("replay@example.com");
    const first = await client.token({ grant_type: "refresh_token", refresh_token: tokens.refresh_token });
    expect(first.status).toBe(200);
    const replay = await client.token({ grant_type: "refresh_token", refresh_token: tokens.refresh_token }, secondIp);
    expect(replay).toMatchObject({ status: 400, body: { error: "invalid_grant" } });
    return { client, tokens: [tokens.access_token, tokens.refresh_token, first.body.access_token, first.body.refresh_token] };
  },

  /** A client_id URL (Client ID Metadata Document) the server refuses to fetch (a loopback address: SSRF guard). */
  async metadataDocumentRefused(server: TestServer, clientId: string): Promise<void> {
    const client = new StandInClient(server, "cimd-client");
    client.clientId = clientId;
    await client.signIn("cimd@example.com");
    expect((await client.authorize({})).status).toBe(400);
  },

  /** An authorization request naming a client_id that is not registered (a registration that expired). */
  async unknownClient(server: TestServer, clientId: string): Promise<void> {
    const client = new StandInClient(server, "stale-registration");
    client.clientId = clientId;
    await client.signIn("stale@example.com");
    expect((await client.authorize({})).status).toBe(400);
  },
};
