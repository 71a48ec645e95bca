/**
 * Checklist "Token endpoint" (last item): POST /api/oauth/revoke (RFC 7009) and POST /api/oauth/introspect
 * (RFC 7662, authenticated callers only).
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { TestServer } from "../helpers/server.ts";
import {
  basic,
  collectEvents,
  issueTokens,
  mcpStatus,
  obtainCode,
  publicClient,
  register,
  REDIRECT,
  signIn,
  startOAuthFixture,
  tokenRequest,
  type CookieJar,
  type RegisteredClient,
} from "./oauth-support.ts";

let server: TestServer;
let client: RegisteredClient;
let jar: CookieJar;

beforeAll(async () => {
  ({ server, client, jar } = await startOAuthFixture({ env: { ADMIN_EMAILS: "admin@example.com" }, email: "holder@example.com" }));
});

async function call(path: string, params: Record<string, string>, headers: Record<string, string> = {}) {
  const res = await fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(params),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: text ? JSON.parse(text) : null };
}

describe("Token revocation, RFC 7009 §2", () => {
  it("revoking an access token ends it at once (and tells the MCP caches via oauth.revocation)", async () => {
    const tokens = await issueTokens(server.url, jar, client);
    expect(await mcpStatus(server.url, tokens.access_token as string)).toBe(200);
    const revocation = collectEvents(server, "oauth.revocation");
    const revoked = collectEvents(server, "oauth.token.revoked");
    const res = await call("/api/oauth/revoke", { token: tokens.access_token as string, token_type_hint: "access_token", client_id: client.client_id });
    revocation.stop();
    revoked.stop();
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(revocation.events).toEqual([{ accessTokenIds: [expect.any(String)] }]);
    expect(revoked.events).toEqual([expect.objectContaining({ kind: "access_token", count: 1 })]);
    expect(await mcpStatus(server.url, tokens.access_token as string)).toBe(401);
    // The refresh token of the grant still works (only the access token was revoked).
    expect((await tokenRequest(server.url, { grant_type: "refresh_token", refresh_token: tokens.refresh_token as string, client_id: client.client_id })).status).toBe(200);
  });

  it("revoking a refresh token revokes its grant, access tokens included (RFC 7009 §2.1)", async () => {
    const tokens = await issueTokens(server.url, jar, client);
    const revocation = collectEvents(server, "oauth.revocation");
    const res = await call("/api/oauth/revoke", { token: tokens.refresh_token as string, client_id: client.client_id });
    revocation.stop();
    expect(res.status).toBe(200);
    expect(revocation.events).toEqual([expect.objectContaining({ grantIds: [expect.any(String)] })]);
    expect(await mcpStatus(server.url, tokens.access_token as string)).toBe(401);
    expect((await tokenRequest(server.url, { grant_type: "refresh_token", refresh_token: tokens.refresh_token as string, client_id: client.client_id })).body.error).toBe("invalid_grant");
  });

  it("answers 200 for unknown, already revoked and wrong-hint tokens (RFC 7009 §2.2)", async () => {
    const tokens = await issueTokens(server.url, jar, client);
    for (const params of [
      { token: "mcpat_unknown" },
      { token: "not-even-a-token" },
      { token: tokens.access_token as string, token_type_hint: "refresh_token" },
      { token: tokens.access_token as string, token_type_hint: "something_else" },
    ] as Array<Record<string, string>>) {
      expect((await call("/api/oauth/revoke", { ...params, client_id: client.client_id })).status).toBe(200);
    }
    expect(await mcpStatus(server.url, tokens.access_token as string)).toBe(401);
  });

  it("another client's token is left alone (and the answer does not say it exists)", async () => {
    const tokens = await issueTokens(server.url, jar, client);
    const other = await register(server.url, publicClient());
    const res = await call("/api/oauth/revoke", { token: tokens.access_token as string, client_id: other.client_id });
    expect(res.status).toBe(200);
    expect(await mcpStatus(server.url, tokens.access_token as string)).toBe(200);
  });

  it("requires client identification and the token parameter", async () => {
    const noClient = await call("/api/oauth/revoke", { token: "mcpat_x" });
    expect(noClient.status).toBe(401);
    expect(noClient.json.error).toBe("invalid_client");
    const noToken = await call("/api/oauth/revoke", { client_id: client.client_id });
    expect(noToken.status).toBe(400);
    expect(noToken.json.error).toBe("invalid_request");
    const query = await fetch(`${server.url}/api/oauth/revoke?token=mcpat_x`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ client_id: client.client_id }),
    });
    expect(query.status).toBe(400);
    expect((await fetch(`${server.url}/api/oauth/revoke`)).status).toBe(405);
  });
});

describe("Token introspection, RFC 7662 §2 (authenticated callers only)", () => {
  async function confidentialTokens() {
    const conf = await register(server.url, publicClient({ token_endpoint_auth_method: "client_secret_basic" }));
    const { code, verifier } = await obtainCode(server.url, jar, conf.client_id);
    const res = await tokenRequest(server.url, { grant_type: "authorization_code", code, code_verifier: verifier, redirect_uri: REDIRECT }, { headers: { authorization: basic(conf.client_id, conf.client_secret!) } });
    expect(res.status).toBe(200);
    return { conf, tokens: res.body, auth: { authorization: basic(conf.client_id, conf.client_secret!) } };
  }

  it("a confidential client introspects its own access and refresh tokens", async () => {
    const { conf, tokens, auth } = await confidentialTokens();
    const access = await call("/api/oauth/introspect", { token: tokens.access_token as string }, auth);
    expect(access.status).toBe(200);
    expect(access.headers.get("cache-control")).toBe("no-store");
    expect(access.json).toMatchObject({
      active: true,
      scope: "mcp:tools",
      client_id: conf.client_id,
      token_type: "Bearer",
      aud: `${server.env.APP_URL}/mcp`,
      iss: server.env.APP_URL,
      sub: expect.any(String),
      exp: expect.any(Number),
      iat: expect.any(Number),
    });
    const refresh = await call("/api/oauth/introspect", { token: tokens.refresh_token as string }, auth);
    expect(refresh.json).toMatchObject({ active: true, client_id: conf.client_id });
  });

  it("inactive is just {active:false}: unknown, revoked, another client's token", async () => {
    const { tokens, auth } = await confidentialTokens();
    const others = await issueTokens(server.url, jar, client);
    expect((await call("/api/oauth/introspect", { token: "mcpat_nope" }, auth)).json).toEqual({ active: false });
    expect((await call("/api/oauth/introspect", { token: others.access_token as string }, auth)).json).toEqual({ active: false });
    await call("/api/oauth/revoke", { token: tokens.refresh_token as string }, auth);
    expect((await call("/api/oauth/introspect", { token: tokens.access_token as string }, auth)).json).toEqual({ active: false });
    expect((await call("/api/oauth/introspect", { token: tokens.refresh_token as string }, auth)).json).toEqual({ active: false });
  });

  it("refuses anonymous callers, public clients, wrong secrets and non-admin bearer tokens", async () => {
    const tokens = await issueTokens(server.url, jar, client);
    const anonymous = await call("/api/oauth/introspect", { token: tokens.access_token as string });
    expect(anonymous.status).toBe(401);
    const publicCaller = await call("/api/oauth/introspect", { token: tokens.access_token as string, client_id: client.client_id });
    expect(publicCaller.status).toBe(401);
    expect(publicCaller.json.error).toBe("invalid_client");
    const { conf } = await confidentialTokens();
    const wrong = await call("/api/oauth/introspect", { token: tokens.access_token as string }, { authorization: basic(conf.client_id, "mcpcs_wrong") });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("www-authenticate")).toMatch(/^Basic /);
    const bearer = await call("/api/oauth/introspect", { token: tokens.access_token as string }, { authorization: `Bearer ${tokens.access_token}` });
    expect(bearer.status).toBe(401);
    expect(bearer.json.error).toBe("invalid_token");
  });

  it("an administrator's access token with mcp:admin may introspect any token", async () => {
    const adminJar = await signIn(server.url, "admin@example.com");
    const admin = await issueTokens(server.url, adminJar, client, { scope: "mcp:tools mcp:admin" });
    const target = await issueTokens(server.url, jar, client);
    const res = await call("/api/oauth/introspect", { token: target.access_token as string }, { authorization: `Bearer ${admin.access_token}` });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ active: true, client_id: client.client_id, username: "holder@example.com" });
  });
});
