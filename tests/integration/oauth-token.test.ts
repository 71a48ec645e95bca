/**
 * Checklist "Token endpoint", authorization_code grant and the endpoint's error handling: client binding,
 * redirect_uri, PKCE, expiry, resource (audience), reuse revocation, client authentication per method, RFC 6749 §5.2
 * errors, form and JSON bodies, and inputs that must never produce a 500 or take a token from a query string.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { sha256Hex } from "../../server/crypto.ts";
import { untilClientCacheForgets, type TestServer } from "../helpers/server.ts";
import {
  basic,
  collectEvents,
  type CookieJar,
  issueTokens,
  mcpStatus,
  obtainCode,
  pkce,
  publicClient,
  register,
  REDIRECT,
  startOAuthFixture,
  tokenRequest,
  type RegisteredClient,
} from "./oauth-support.ts";
import { findAccessToken } from "../../server/oauth/tokens.ts";
import { audienceCovers, resourceIdentifiers } from "../../server/oauth/resources.ts";

let server: TestServer;
let app: string;
let client: RegisteredClient;
let jar: CookieJar;

beforeAll(async () => {
  ({ server, app, client, jar } = await startOAuthFixture({ email: "token-user@example.com" }));
});

function redeem(code: string, verifier: string, extra: Record<string, string | undefined> = {}) {
  return tokenRequest(server.url, { grant_type: "authorization_code", code, code_verifier: verifier, client_id: client.client_id, redirect_uri: REDIRECT, ...extra });
}

describe("authorization_code grant, RFC 6749 §4.1.3-§4.1.4 / §5.1", () => {
  it("returns a Bearer access token, expires_in, scope and a refresh token; no-store", async () => {
    const { code, verifier } = await obtainCode(server.url, jar, client.client_id);
    const issued = collectEvents(server, "oauth.token.issued");
    const res = await redeem(code, verifier);
    issued.stop();
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("pragma")).toBe("no-cache");
    expect(res.body).toEqual({
      access_token: expect.stringMatching(/^mcpat_[A-Za-z0-9_-]{43}$/),
      token_type: "Bearer",
      expires_in: 3600,
      scope: "mcp:tools",
      refresh_token: expect.stringMatching(/^mcprt_[A-Za-z0-9_-]{43}$/),
    });
    expect(issued.events).toEqual([expect.objectContaining({ grantType: "authorization_code", refreshToken: true })]);
    const access = await server.services.prisma.accessToken.findUniqueOrThrow({ where: { tokenHash: sha256Hex(res.body.access_token as string) } });
    expect(JSON.stringify(access)).not.toContain(res.body.access_token as string);
    expect(await server.services.prisma.refreshToken.count({ where: { tokenHash: sha256Hex(res.body.refresh_token as string) } })).toBe(1);
  });

  it("issues no refresh token to a client that did not register the refresh_token grant", async () => {
    const noRefresh = await register(server.url, publicClient({ grant_types: ["authorization_code"] }));
    const body = await issueTokens(server.url, jar, noRefresh);
    expect(body.refresh_token).toBeUndefined();
    const refresh = await tokenRequest(server.url, { grant_type: "refresh_token", refresh_token: "mcprt_x", client_id: noRefresh.client_id });
    expect(refresh.body.error).toBe("unauthorized_client");
  });

  it("accepts a JSON body (the original's clients)", async () => {
    const { code, verifier } = await obtainCode(server.url, jar, client.client_id);
    const res = await tokenRequest(server.url, { grant_type: "authorization_code", code, code_verifier: verifier, client_id: client.client_id, redirect_uri: REDIRECT }, { json: true });
    expect(res.status).toBe(200);
  });

  it("binds the code to its client: another client gets invalid_grant", async () => {
    const other = await register(server.url, publicClient());
    const { code, verifier } = await obtainCode(server.url, jar, client.client_id);
    const res = await tokenRequest(server.url, { grant_type: "authorization_code", code, code_verifier: verifier, client_id: other.client_id, redirect_uri: REDIRECT });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe("invalid_grant");
    expect((await redeem(code, verifier)).status).toBe(200);
  });

  it("binds the code to its redirect_uri (RFC 6749 §4.1.3): a different or missing one is invalid_grant", async () => {
    const { code, verifier } = await obtainCode(server.url, jar, client.client_id);
    const security = collectEvents(server, "security.event");
    expect((await redeem(code, verifier, { redirect_uri: "http://127.0.0.1:1/other" })).body.error).toBe("invalid_grant");
    expect((await redeem(code, verifier, { redirect_uri: undefined })).body.error).toBe("invalid_grant");
    security.stop();
    expect(security.events.map((e) => e.type)).toContain("REDIRECT_URI_MISMATCH");
    expect((await redeem(code, verifier)).status).toBe(200);
  });

  it("verifies the PKCE code_verifier (RFC 7636 §4.6): wrong → invalid_grant + PKCE_FAILURE; missing → invalid_request", async () => {
    const { code, verifier } = await obtainCode(server.url, jar, client.client_id);
    const security = collectEvents(server, "security.event");
    const wrong = await redeem(code, pkce().verifier);
    security.stop();
    expect(wrong.status).toBe(400);
    expect(wrong.body).toEqual({ error: "invalid_grant", error_description: expect.stringContaining("PKCE") });
    expect(security.events.map((e) => e.type)).toContain("PKCE_FAILURE");
    expect((await redeem(code, verifier, { code_verifier: undefined })).body.error).toBe("invalid_request");
    expect((await redeem(code, verifier, { code_verifier: "short" })).body.error).toBe("invalid_grant");
    // A failed check does not burn the code (the checks run before the claim).
    expect((await redeem(code, verifier)).status).toBe(200);
  });

  it("refuses an expired code", async () => {
    const { code, verifier } = await obtainCode(server.url, jar, client.client_id);
    await server.services.prisma.authorizationCode.update({ where: { codeHash: sha256Hex(code) }, data: { expiresAt: new Date(Date.now() - 1000) } });
    const res = await redeem(code, verifier);
    expect(res.body.error).toBe("invalid_grant");
  });

  it("refuses unknown and malformed codes with invalid_grant", async () => {
    for (const code of ["mcpac_" + "A".repeat(43), "nonsense", "x".repeat(300)]) {
      expect((await redeem(code, pkce().verifier)).body.error).toBe("invalid_grant");
    }
  });

  it("checks the resource before consuming the code (RFC 8707 §2.2): another resource is invalid_target", async () => {
    const { code, verifier } = await obtainCode(server.url, jar, client.client_id, { resource: `${app}/mcp/mcp` });
    expect((await redeem(code, verifier, { resource: `${app}/mcp/sse` })).body.error).toBe("invalid_target");
    expect((await redeem(code, verifier, { resource: "https://evil.example/mcp" })).body.error).toBe("invalid_target");
    const ok = await redeem(code, verifier, { resource: `${app}/mcp/mcp` });
    expect(ok.status).toBe(200);
  });

  it("a grant for APP_URL/mcp may narrow the token's audience to one endpoint", async () => {
    const { code, verifier } = await obtainCode(server.url, jar, client.client_id);
    const res = await redeem(code, verifier, { resource: `${app}/mcp/sse` });
    expect(res.status).toBe(200);
    const info = await findAccessToken(server.services.db.pool, res.body.access_token as string);
    expect(info?.resource).toBe(`${app}/mcp/sse`);
  });
});

describe("Audience binding, RFC 8707 §2 (the MCP server rejects a token for another audience)", () => {
  it("a token for APP_URL/mcp/sse is refused at /mcp/mcp; one for APP_URL/mcp works there", async () => {
    const sse = await issueTokens(server.url, jar, client, { resource: `${app}/mcp/sse` });
    expect(await mcpStatus(server.url, sse.access_token as string, "/mcp/mcp")).toBe(401);
    const all = await issueTokens(server.url, jar, client);
    expect(await mcpStatus(server.url, all.access_token as string, "/mcp/mcp")).toBe(200);
    const narrow = await issueTokens(server.url, jar, client, { resource: `${app}/mcp/mcp` });
    expect(await mcpStatus(server.url, narrow.access_token as string, "/mcp/mcp")).toBe(200);
    // The audience rule the bearer check applies (oauth/resources.ts): a /mcp/mcp token does not cover /mcp/sse.
    const info = await findAccessToken(server.services.db.pool, narrow.access_token as string);
    expect(info?.resource).toBe(`${app}/mcp/mcp`);
    expect(audienceCovers(info!.resource, `${app}/mcp/sse`, resourceIdentifiers(app))).toBe(false);
  });
});

describe("Authorization code reuse, RFC 6749 §4.1.2 / RFC 9700 §4.5 (second use fails and revokes)", () => {
  it("the second redemption gets invalid_grant and every token from the first is revoked (CODE_REUSE)", async () => {
    const { code, verifier } = await obtainCode(server.url, jar, client.client_id);
    const first = await redeem(code, verifier);
    expect(first.status).toBe(200);
    expect(await mcpStatus(server.url, first.body.access_token as string)).toBe(200);
    const revocations = collectEvents(server, "oauth.revocation");
    const security = collectEvents(server, "security.event");
    const second = await redeem(code, verifier);
    revocations.stop();
    security.stop();
    expect(second.status).toBe(400);
    expect(second.body.error).toBe("invalid_grant");
    expect(security.events).toContainEqual(expect.objectContaining({ type: "CODE_REUSE", severity: "high" }));
    expect(revocations.events).toHaveLength(1);
    expect(revocations.events[0].grantIds).toHaveLength(1);
    expect(await findAccessToken(server.services.db.pool, first.body.access_token as string)).toBeNull();
    expect(await mcpStatus(server.url, first.body.access_token as string)).toBe(401);
    const refresh = await tokenRequest(server.url, { grant_type: "refresh_token", refresh_token: first.body.refresh_token as string, client_id: client.client_id });
    expect(refresh.body.error).toBe("invalid_grant");
  });
});

describe("Client authentication at the token endpoint, RFC 6749 §2.3 / §5.2", () => {
  async function confidential(method: "client_secret_basic" | "client_secret_post") {
    const registered = await register(server.url, publicClient({ token_endpoint_auth_method: method }));
    const { code, verifier } = await obtainCode(server.url, jar, registered.client_id);
    return { registered, code, verifier };
  }

  it("client_secret_basic: right secret works; wrong secret is 401 invalid_client with WWW-Authenticate: Basic", async () => {
    const { registered, code, verifier } = await confidential("client_secret_basic");
    const params = { grant_type: "authorization_code", code, code_verifier: verifier, redirect_uri: REDIRECT };
    const security = collectEvents(server, "security.event");
    const wrong = await tokenRequest(server.url, params, { headers: { authorization: basic(registered.client_id, "mcpcs_wrong") } });
    security.stop();
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toBe("invalid_client");
    expect(wrong.headers.get("www-authenticate")).toMatch(/^Basic realm=/);
    expect(security.events).toContainEqual(expect.objectContaining({ type: "INVALID_CLIENT" }));
    expect((await tokenRequest(server.url, { ...params, client_id: registered.client_id })).status).toBe(401);
    expect((await tokenRequest(server.url, { ...params, client_id: registered.client_id, client_secret: registered.client_secret })).status).toBe(401);
    const ok = await tokenRequest(server.url, params, { headers: { authorization: basic(registered.client_id, registered.client_secret!) } });
    expect(ok.status).toBe(200);
  });

  it("client_secret_post: right secret works; Basic is refused for a client_secret_post client", async () => {
    const { registered, code, verifier } = await confidential("client_secret_post");
    const params = { grant_type: "authorization_code", code, code_verifier: verifier, redirect_uri: REDIRECT, client_id: registered.client_id };
    expect((await tokenRequest(server.url, { ...params, client_secret: "mcpcs_wrong" })).status).toBe(401);
    expect((await tokenRequest(server.url, { ...params, client_id: undefined }, { headers: { authorization: basic(registered.client_id, registered.client_secret!) } })).status).toBe(401);
    expect((await tokenRequest(server.url, { ...params, client_secret: registered.client_secret })).status).toBe(200);
  });

  it("two authentication methods at once is invalid_request", async () => {
    const { registered, code, verifier } = await confidential("client_secret_basic");
    const res = await tokenRequest(
      server.url,
      { grant_type: "authorization_code", code, code_verifier: verifier, redirect_uri: REDIRECT, client_secret: registered.client_secret },
      { headers: { authorization: basic(registered.client_id, registered.client_secret!) } },
    );
    expect(res.status).toBe(400);
    expect(res.body.error).toBe("invalid_request");
  });

  it("a public client presenting a secret, a missing client_id, or an unknown client is 401 invalid_client", async () => {
    const { code, verifier } = await obtainCode(server.url, jar, client.client_id);
    expect((await redeem(code, verifier, { client_secret: "mcpcs_x" })).status).toBe(401);
    expect((await redeem(code, verifier, { client_id: undefined })).status).toBe(401);
    expect((await redeem(code, verifier, { client_id: "mcpc_unknown" })).body.error).toBe("invalid_client");
    expect((await tokenRequest(server.url, { grant_type: "authorization_code", code, code_verifier: verifier, redirect_uri: REDIRECT }, { headers: { authorization: "Bearer abc" } })).status).toBe(401);
  });

  it("a public client may also name itself with Basic and an empty password", async () => {
    const { code, verifier } = await obtainCode(server.url, jar, client.client_id);
    const res = await tokenRequest(server.url, { grant_type: "authorization_code", code, code_verifier: verifier, redirect_uri: REDIRECT }, { headers: { authorization: basic(client.client_id, "") } });
    expect(res.status).toBe(200);
  });

  it("a disabled client is invalid_client", async () => {
    const disabled = await register(server.url, publicClient());
    const { code, verifier } = await obtainCode(server.url, jar, disabled.client_id);
    await server.services.prisma.client.update({ where: { clientId: disabled.client_id }, data: { disabled: true } });
    // Written on another connection, as another node would: the cache hears of it by notification, a moment later.
    await untilClientCacheForgets(server, disabled.client_id);
    const res = await tokenRequest(server.url, { grant_type: "authorization_code", code, code_verifier: verifier, client_id: disabled.client_id, redirect_uri: REDIRECT });
    expect(res.status).toBe(401);
    expect(res.body.error).toBe("invalid_client");
  });
});

describe("Token endpoint errors, RFC 6749 §5.2 (JSON, no-store, 400 / 401, never 500)", () => {
  async function raw(body: string | undefined, contentType: string | undefined, path = "/api/oauth/token", method = "POST") {
    const res = await fetch(server.url + path, { method, headers: contentType ? { "content-type": contentType } : {}, body });
    const text = await res.text();
    return { status: res.status, text, headers: res.headers, json: (() => { try { return JSON.parse(text); } catch { return null; } })() };
  }

  it.each([
    ["grant_type=password&username=a&password=b", "unsupported_grant_type"],
    ["grant_type=client_credentials", "invalid_client"],
    ["grant_type=urn:ietf:params:oauth:grant-type:device_code", "unsupported_grant_type"],
    ["grant_type=__proto__", "unsupported_grant_type"],
    ["grant_type=toString", "unsupported_grant_type"],
    ["code=abc", "invalid_request"],
    ["", "invalid_request"],
  ])("%s → %s", async (body, error) => {
    const res = await raw(body, "application/x-www-form-urlencoded");
    expect(res.status).toBe(error === "invalid_client" ? 401 : 400);
    expect(res.json).toEqual({ error, error_description: expect.any(String) });
    expect(res.headers.get("cache-control")).toBe("no-store");
  });

  it("missing code is invalid_request", async () => {
    const res = await tokenRequest(server.url, { grant_type: "authorization_code", client_id: client.client_id, code_verifier: pkce().verifier });
    expect(res.body.error).toBe("invalid_request");
  });

  it.each([
    ["grant_type=authorization_code", "text/plain", 415],
    ["<xml/>", "application/xml", 415],
    ["grant_type=authorization_code", undefined, 415],
    ["{bad json", "application/json", 400],
    ['{"grant_type":["a","b"]}', "application/json", 400],
    ['{"grant_type":{"x":1}}', "application/json", 400],
    ["grant_type=authorization_code&grant_type=refresh_token", "application/x-www-form-urlencoded", 400],
    // Percent-encoded bytes that are not UTF-8: refused by the host's input guard before client authentication.
    ["grant_type=authorization_code&client_id=mcpc_x&code=%E0%A4%A", "application/x-www-form-urlencoded", 400],
    [`grant_type=authorization_code&code=${"x".repeat(5000)}`, "application/x-www-form-urlencoded", 400],
    // Over 16 KB in values of a length the host accepts (one over 8192 characters is its 400).
    [`grant_type=authorization_code${Array.from({ length: 17 }, (_, i) => `&pad${i}=${"x".repeat(1000)}`).join("")}`, "application/x-www-form-urlencoded", 413],
  ])("malformed input %#: %s (%s) → %i JSON invalid_request", async (body, contentType, status) => {
    const res = await raw(body, contentType);
    expect(res.status).toBe(status);
    expect(res.json?.error).toMatch(/invalid_request|invalid_client/);
    expect(res.text).not.toMatch(/at \/|node_modules|prisma/i);
  });

  it("refuses codes and tokens in the query string (OAuth 2.1 §3.2)", async () => {
    const { code, verifier } = await obtainCode(server.url, jar, client.client_id);
    const res = await fetch(`${server.url}/api/oauth/token?code=${code}&code_verifier=${verifier}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "authorization_code", client_id: client.client_id, redirect_uri: REDIRECT }),
    });
    expect(res.status).toBe(400);
    expect((await res.json()).error).toBe("invalid_request");
    expect((await redeem(code, verifier)).status).toBe(200);
  });

  it("GET is 405 and never issues anything", async () => {
    const res = await raw(undefined, undefined, "/api/oauth/token?grant_type=authorization_code", "GET");
    expect(res.status).toBe(405);
    expect(res.json.error).toBe("invalid_request");
  });

  it("records oauth.grant.error with the wire error, the internal reason and the grant type", async () => {
    const errors = collectEvents(server, "oauth.grant.error");
    await redeem("mcpac_nope", pkce().verifier);
    await tokenRequest(server.url, { grant_type: "refresh_token", refresh_token: "mcprt_nope", client_id: client.client_id });
    await tokenRequest(server.url, { grant_type: "urn:ietf:params:oauth:grant-type:device_code", client_id: client.client_id });
    await tokenRequest(server.url, { client_id: client.client_id });
    errors.stop();
    expect(errors.events).toEqual([
      expect.objectContaining({ error: "invalid_grant", reason: "unknown_code", grantType: "authorization_code" }),
      expect.objectContaining({ error: "invalid_grant", reason: "unknown_refresh_token", grantType: "refresh_token" }),
      expect.objectContaining({ error: "unsupported_grant_type", grantType: "other" }),
      expect.not.objectContaining({ grantType: expect.anything() }),
    ]);
  });
});
