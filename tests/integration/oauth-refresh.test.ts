/**
 * Checklist "Token endpoint", refresh_token grant (RFC 6749 §6, OAuth 2.1 §4.3.1, RFC 9700 §4.14.2): rotation on
 * every use, reuse of a rotated token revokes the family (TOKEN_REUSE), the optional grace window returns the same
 * successor, refresh tokens are bound to their client, confidential clients authenticate, scope can only narrow.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { sha256Hex } from "../../server/crypto.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
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
  tokenRequest,
  type CookieJar,
  type RegisteredClient,
} from "./oauth-support.ts";
import { findAccessToken } from "../../server/oauth/tokens.ts";

let strict: TestServer;
let lenient: TestServer;

beforeAll(async () => {
  [strict, lenient] = await Promise.all([
    startTestServer({ RATE_LIMIT_ENABLED: "false", ADMIN_EMAILS: "boss@example.com" }),
    startTestServer({ RATE_LIMIT_ENABLED: "false", REFRESH_TOKEN_REUSE_GRACE_SECONDS: "30" }),
  ]);
});

function refresh(server: TestServer, client: RegisteredClient, refreshToken: unknown, extra: Record<string, string | undefined> = {}) {
  return tokenRequest(server.url, { grant_type: "refresh_token", refresh_token: refreshToken as string, client_id: client.client_id, ...extra });
}

async function setup(server: TestServer, email = "refresher@example.com", clientOverrides: Record<string, unknown> = {}) {
  const client = await register(server.url, publicClient(clientOverrides));
  const jar = await signIn(server.url, email);
  const tokens = await issueTokens(server.url, jar, client);
  return { client, jar, tokens };
}

describe("Refresh token rotation, OAuth 2.1 §4.3.1 (rotation on every use)", () => {
  it("every refresh returns a new access token and a new refresh token; the old access token stays valid until expiry", async () => {
    const { client, tokens } = await setup(strict);
    const refreshed = collectEvents(strict, "oauth.token.refreshed");
    const first = await refresh(strict, client, tokens.refresh_token);
    expect(first.status).toBe(200);
    expect(first.headers.get("cache-control")).toBe("no-store");
    expect(first.body).toMatchObject({ token_type: "Bearer", expires_in: 3600, scope: "mcp:tools" });
    expect(first.body.refresh_token).not.toBe(tokens.refresh_token);
    expect(first.body.access_token).not.toBe(tokens.access_token);
    const second = await refresh(strict, client, first.body.refresh_token);
    expect(second.status).toBe(200);
    refreshed.stop();
    expect(refreshed.events).toEqual([expect.objectContaining({ reusedWithinGrace: false }), expect.objectContaining({ reusedWithinGrace: false })]);
    expect(await mcpStatus(strict.url, second.body.access_token as string)).toBe(200);
    const old = await strict.services.prisma.refreshToken.findUniqueOrThrow({ where: { tokenHash: sha256Hex(tokens.refresh_token as string) } });
    expect(old.rotatedAt).not.toBeNull();
    expect(old.successorBox).toBeNull();
  });

  it("reuse of a rotated refresh token revokes the whole family and records TOKEN_REUSE", async () => {
    const { client, tokens } = await setup(strict);
    const next = await refresh(strict, client, tokens.refresh_token);
    const security = collectEvents(strict, "security.event");
    const revocation = collectEvents(strict, "oauth.revocation");
    const reuse = await refresh(strict, client, tokens.refresh_token);
    security.stop();
    revocation.stop();
    expect(reuse.status).toBe(400);
    expect(reuse.body.error).toBe("invalid_grant");
    expect(security.events).toContainEqual(expect.objectContaining({ type: "TOKEN_REUSE", severity: "high" }));
    expect(revocation.events).toEqual([expect.objectContaining({ grantIds: [expect.any(String)] })]);
    // The legitimate holder's tokens are gone too: the attacker and the client cannot be told apart.
    expect((await refresh(strict, client, next.body.refresh_token)).body.error).toBe("invalid_grant");
    expect(await mcpStatus(strict.url, next.body.access_token as string)).toBe(401);
    expect(await mcpStatus(strict.url, tokens.access_token as string)).toBe(401);
  });

  it("concurrent refreshes with one token (no grace): exactly one succeeds, then the family is revoked", async () => {
    const { client, tokens } = await setup(strict);
    const results = await Promise.all(Array.from({ length: 5 }, () => refresh(strict, client, tokens.refresh_token)));
    const ok = results.filter((r) => r.status === 200);
    expect(ok).toHaveLength(1);
    expect(results.filter((r) => r.body.error === "invalid_grant")).toHaveLength(4);
    expect(await mcpStatus(strict.url, ok[0].body.access_token as string)).toBe(401);
  });

  it("an unknown, expired or malformed refresh token is invalid_grant", async () => {
    const { client, tokens } = await setup(strict);
    expect((await refresh(strict, client, "mcprt_" + "A".repeat(43))).body.error).toBe("invalid_grant");
    expect((await refresh(strict, client, "garbage")).body.error).toBe("invalid_grant");
    expect((await refresh(strict, client, undefined)).body.error).toBe("invalid_request");
    await strict.services.prisma.refreshToken.update({ where: { tokenHash: sha256Hex(tokens.refresh_token as string) }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect((await refresh(strict, client, tokens.refresh_token)).body.error).toBe("invalid_grant");
  });

  it("refresh tokens last REFRESH_TOKEN_TTL_SECONDS (30 days by default)", async () => {
    const { tokens } = await setup(strict);
    const row = await strict.services.prisma.refreshToken.findUniqueOrThrow({ where: { tokenHash: sha256Hex(tokens.refresh_token as string) } });
    expect(row.expiresAt.getTime() - row.createdAt.getTime()).toBe(30 * 24 * 3600 * 1000);
  });
});

describe("Refresh token binding, RFC 6749 §6 / OAuth 2.1 §4.3.1 (public: bound by rotation; confidential: authenticate)", () => {
  it("another client cannot use a refresh token", async () => {
    const { tokens } = await setup(strict);
    const thief = await register(strict.url, publicClient());
    const res = await refresh(strict, thief, tokens.refresh_token);
    expect(res.body.error).toBe("invalid_grant");
  });

  it("a confidential client must authenticate to refresh", async () => {
    const { client, tokens } = await confidentialSetup();
    const withoutSecret = await tokenRequest(strict.url, { grant_type: "refresh_token", refresh_token: tokens.refresh_token as string, client_id: client.client_id });
    expect(withoutSecret.status).toBe(401);
    expect(withoutSecret.body.error).toBe("invalid_client");
    const withSecret = await tokenRequest(strict.url, { grant_type: "refresh_token", refresh_token: tokens.refresh_token as string }, { headers: { authorization: basic(client.client_id, client.client_secret!) } });
    expect(withSecret.status).toBe(200);
  });
});

async function confidentialSetup(): Promise<{ client: RegisteredClient; jar: CookieJar; tokens: Record<string, unknown> }> {
  const client = await register(strict.url, publicClient({ token_endpoint_auth_method: "client_secret_basic" }));
  const jar = await signIn(strict.url, "conf@example.com");
  const { code, verifier } = await obtainCode(strict.url, jar, client.client_id);
  const res = await tokenRequest(
    strict.url,
    { grant_type: "authorization_code", code, code_verifier: verifier, redirect_uri: REDIRECT },
    { headers: { authorization: basic(client.client_id, client.client_secret!) } },
  );
  expect(res.status).toBe(200);
  return { client, jar, tokens: res.body };
}

describe("Refresh scope and resource, RFC 6749 §6 / RFC 8707 §2.2", () => {
  it("scope may narrow the access token but not widen it (invalid_scope); the refresh token keeps its scope", async () => {
    const client = await register(strict.url, publicClient());
    const jar = await signIn(strict.url, "boss@example.com");
    const tokens = await issueTokens(strict.url, jar, client, { scope: "mcp:tools mcp:admin" });
    expect(tokens.scope).toBe("mcp:tools mcp:admin");
    const narrowed = await refresh(strict, client, tokens.refresh_token, { scope: "mcp:tools" });
    expect(narrowed.body.scope).toBe("mcp:tools");
    const again = await refresh(strict, client, narrowed.body.refresh_token);
    expect(again.body.scope).toBe("mcp:tools mcp:admin");

    const narrowClient = await register(strict.url, publicClient());
    const user = await issueTokens(strict.url, await signIn(strict.url, "plain@example.com"), narrowClient);
    const widened = await refresh(strict, narrowClient, user.refresh_token, { scope: "mcp:tools mcp:admin" });
    expect(widened.body.error).toBe("invalid_scope");
  });

  it("an administrator who was demoted no longer gets mcp:admin on refresh", async () => {
    const client = await register(strict.url, publicClient());
    const jar = await signIn(strict.url, "boss@example.com");
    const tokens = await issueTokens(strict.url, jar, client, { scope: "mcp:tools mcp:admin" });
    await strict.services.prisma.user.update({ where: { email: "boss@example.com" }, data: { role: "USER" } });
    const res = await refresh(strict, client, tokens.refresh_token);
    await strict.services.prisma.user.update({ where: { email: "boss@example.com" }, data: { role: "ADMIN" } });
    expect(res.body.scope).toBe("mcp:tools");
  });

  it("resource on refresh must be within the grant (invalid_target otherwise)", async () => {
    const { client, tokens } = await setup(strict);
    const app = strict.env.APP_URL;
    const narrowed = await refresh(strict, client, tokens.refresh_token, { resource: `${app}/mcp/mcp` });
    expect(narrowed.status).toBe(200);
    expect((await findAccessToken(strict.services.db.pool, narrowed.body.access_token as string))?.resource).toBe(`${app}/mcp/mcp`);
    const bad = await refresh(strict, client, narrowed.body.refresh_token, { resource: "https://evil.example/mcp" });
    expect(bad.body.error).toBe("invalid_target");
  });
});

describe("Refresh token reuse grace window (REFRESH_TOKEN_REUSE_GRACE_SECONDS, client retry races)", () => {
  it("a retry within the window returns the same successor; the successor stays valid", async () => {
    const { client, tokens } = await setup(lenient);
    const first = await refresh(lenient, client, tokens.refresh_token);
    const refreshed = collectEvents(lenient, "oauth.token.refreshed");
    const retry = await refresh(lenient, client, tokens.refresh_token);
    refreshed.stop();
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual(first.body);
    expect(refreshed.events).toEqual([expect.objectContaining({ reusedWithinGrace: true })]);
    const row = await lenient.services.prisma.refreshToken.findUniqueOrThrow({ where: { tokenHash: sha256Hex(tokens.refresh_token as string) } });
    expect(row.successorBox).toMatch(/^v1\./);
    expect(row.successorBox).not.toContain(first.body.refresh_token as string);
    expect(row.successorBox).not.toContain(first.body.access_token as string);
    expect((await refresh(lenient, client, first.body.refresh_token)).status).toBe(200);
  });

  it("concurrent refreshes within the window all get the same answer", async () => {
    const { client, tokens } = await setup(lenient);
    const results = await Promise.all(Array.from({ length: 5 }, () => refresh(lenient, client, tokens.refresh_token)));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(new Set(results.map((r) => r.body.refresh_token)).size).toBe(1);
  });

  it("once the successor has been used, presenting the old token is reuse", async () => {
    const { client, tokens } = await setup(lenient);
    const first = await refresh(lenient, client, tokens.refresh_token);
    const second = await refresh(lenient, client, first.body.refresh_token);
    expect(second.status).toBe(200);
    const security = collectEvents(lenient, "security.event");
    const late = await refresh(lenient, client, tokens.refresh_token);
    security.stop();
    expect(late.body.error).toBe("invalid_grant");
    expect(security.events.map((e) => e.type)).toContain("TOKEN_REUSE");
    expect((await refresh(lenient, client, second.body.refresh_token)).body.error).toBe("invalid_grant");
  });

  it("after the window, presenting the old token is reuse and the box is swept", async () => {
    const { client, tokens } = await setup(lenient);
    await refresh(lenient, client, tokens.refresh_token);
    await lenient.services.prisma.refreshToken.update({
      where: { tokenHash: sha256Hex(tokens.refresh_token as string) },
      data: { rotatedAt: new Date(Date.now() - 60_000) },
    });
    await lenient.services.jobs.run("oauth.sweep");
    const row = await lenient.services.prisma.refreshToken.findUniqueOrThrow({ where: { tokenHash: sha256Hex(tokens.refresh_token as string) } });
    expect(row.successorBox).toBeNull();
    expect((await refresh(lenient, client, tokens.refresh_token)).body.error).toBe("invalid_grant");
  });
});
