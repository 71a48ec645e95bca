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

  headers(extra: Record<string, string> = {}, ip = this.ip): Record<string, string> {
    return { "x-forwarded-for": ip, "user-agent": this.agent, ...extra };
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
