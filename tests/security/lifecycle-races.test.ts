/**
 * Things that change under an authorization in flight: the unused-registration sweep, a client disabled or deleted
 * between the consent page and the click, an administrator demoted between consent and code redemption, and a
 * revocation racing a refresh (RFC 7009 §2.1, RFC 6749 §4.1.2, §6; RFC 9700 §4.14).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import {
  authorizeUrl,
  browse,
  hiddenField,
  issueTokens,
  obtainCode,
  pkce,
  publicClient,
  register,
  REDIRECT,
  signIn,
  tokenRequest,
  type CookieJar,
  type RegisteredClient,
} from "../integration/oauth-support.ts";
import { findAccessToken } from "../../server/oauth/tokens.ts";

let server: TestServer;
let jar: CookieJar;

beforeAll(async () => {
  server = await startTestServer({ RATE_LIMIT_ENABLED: "false", UNUSED_CLIENT_RETENTION_HOURS: "1", ADMIN_EMAILS: "root@example.com" });
  jar = await signIn(server.url, "inflight@example.com");
});

const longAgo = () => new Date(Date.now() - 3 * 3600_000);

async function ageRegistration(client: RegisteredClient) {
  await server.services.prisma.client.update({ where: { clientId: client.client_id }, data: { createdAt: longAgo() } });
}

/** Opens the consent page; returns the URL and the form's CSRF token (the person has not clicked yet). */
async function consentPage(client: RegisteredClient, challenge: string) {
  const url = authorizeUrl(server.url, { response_type: "code", client_id: client.client_id, redirect_uri: REDIRECT, code_challenge: challenge, code_challenge_method: "S256", state: "s" });
  const page = await browse(jar, url);
  const html = await page.text();
  expect(page.status, html.slice(0, 300)).toBe(200);
  return { url, csrf: hiddenField(html, "csrf") };
}

function click(url: string, csrf: string, decision: "allow" | "deny" = "allow") {
  return browse(jar, url, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ csrf, decision }) });
}

describe("The unused-registration sweep never takes a client in the middle of an authorization", () => {
  it("an old registration whose person is on the consent page, then holds a code, survives the sweep and gets its tokens", async () => {
    const client = await register(server.url, publicClient());
    await ageRegistration(client);
    const { verifier, challenge } = pkce();
    const { url, csrf } = await consentPage(client, challenge);
    await server.services.jobs.run("oauth.sweep");
    const allowed = await click(url, csrf);
    expect(allowed.status).toBe(302);
    const code = new URL(allowed.headers.get("location")!).searchParams.get("code");
    expect(code).toBeTruthy();
    await server.services.jobs.run("oauth.sweep");
    const tokens = await tokenRequest(server.url, { grant_type: "authorization_code", code: code!, code_verifier: verifier, client_id: client.client_id, redirect_uri: REDIRECT });
    expect(tokens.status, JSON.stringify(tokens.body)).toBe(200);
  });

  it("a sweep running while codes are redeemed: every redemption succeeds and no CODE_REUSE is raised", async () => {
    const clients = await Promise.all(Array.from({ length: 4 }, () => register(server.url, publicClient())));
    const codes = [];
    for (const client of clients) codes.push({ client, ...(await obtainCode(server.url, jar, client.client_id)) });
    for (const client of clients) await ageRegistration(client);
    const security: string[] = [];
    const off = server.services.events.on("security.event", (e) => security.push(e.type));
    const [, ...results] = await Promise.all([
      server.services.jobs.run("oauth.sweep"),
      ...codes.map(({ client, code, verifier }) =>
        tokenRequest(server.url, { grant_type: "authorization_code", code, code_verifier: verifier, client_id: client.client_id, redirect_uri: REDIRECT }),
      ),
    ]);
    off();
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(security).not.toContain("CODE_REUSE");
  });

  it("a registration the sweep may take is still taken once nothing is in flight", async () => {
    const client = await register(server.url, publicClient());
    await ageRegistration(client);
    await server.services.jobs.run("oauth.sweep");
    expect(await server.services.prisma.client.count({ where: { clientId: client.client_id } })).toBe(0);
  });
});

describe("Consent for a client that went away after the page was shown", () => {
  it.each([
    ["disabled", (clientId: string) => server.services.prisma.client.update({ where: { clientId }, data: { disabled: true } })],
    ["deleted", (clientId: string) => server.services.prisma.client.delete({ where: { clientId } })],
  ])("a client %s between the consent page and Allow gets no code and no redirect", async (_name, change) => {
    const client = await register(server.url, publicClient());
    const { challenge } = pkce();
    const { url, csrf } = await consentPage(client, challenge);
    await change(client.client_id);
    const res = await click(url, csrf);
    expect(res.headers.get("location")).toBeNull();
    expect(res.status).toBe(400);
    expect(await server.services.prisma.authorizationCode.count({ where: { client: { clientId: client.client_id } } })).toBe(0);
  });
});

describe("Scope after demotion, RFC 6749 §3.3 (mcp:admin only for administrators)", () => {
  it("a code approved by an administrator who is demoted before it is redeemed yields no mcp:admin", async () => {
    const client = await register(server.url, publicClient({ scope: "mcp:tools mcp:admin" }));
    const admin = await signIn(server.url, "promoted@example.com");
    const user = await server.services.prisma.user.update({ where: { email: "promoted@example.com" }, data: { role: "ADMIN", promotedAt: new Date() } });
    const { code, verifier } = await obtainCode(server.url, admin, client.client_id, { scope: "mcp:tools mcp:admin" });
    expect((await server.services.prisma.authorizationCode.findFirstOrThrow({ where: { userId: user.id } })).scope).toContain("mcp:admin");
    await server.services.prisma.user.update({ where: { id: user.id }, data: { role: "USER", promotedAt: null } });
    const tokens = await tokenRequest(server.url, { grant_type: "authorization_code", code, code_verifier: verifier, client_id: client.client_id, redirect_uri: REDIRECT });
    expect(tokens.status).toBe(200);
    expect(tokens.body.scope).toBe("mcp:tools");
    const info = await findAccessToken(server.services.db.pool, tokens.body.access_token as string);
    expect(info?.scopes).toEqual(["mcp:tools"]);
    // The grant itself (and so every later refresh) no longer carries the admin scope either.
    const refreshed = await tokenRequest(server.url, { grant_type: "refresh_token", refresh_token: tokens.body.refresh_token as string, client_id: client.client_id, scope: "mcp:admin" });
    expect(refreshed.body.error).toBe("invalid_scope");
  });
});

describe("Revocation racing a refresh, RFC 7009 §2.1 (revoking a refresh token ends its whole grant)", () => {
  it("whichever commits first, nothing issued from the grant is usable afterwards", async () => {
    const client = await register(server.url, publicClient());
    for (let round = 0; round < 6; round++) {
      const tokens = await issueTokens(server.url, jar, client);
      const refresh = tokens.refresh_token as string;
      const [rotated, revoked] = await Promise.all([
        tokenRequest(server.url, { grant_type: "refresh_token", refresh_token: refresh, client_id: client.client_id }),
        fetch(`${server.url}/api/oauth/revoke`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ token: refresh, client_id: client.client_id }),
        }),
      ]);
      expect(revoked.status).toBe(200);
      expect(await findAccessToken(server.services.db.pool, tokens.access_token as string)).toBeNull();
      if (rotated.status === 200) {
        expect(await findAccessToken(server.services.db.pool, rotated.body.access_token as string)).toBeNull();
        const again = await tokenRequest(server.url, { grant_type: "refresh_token", refresh_token: rotated.body.refresh_token as string, client_id: client.client_id });
        expect(again.body.error).toBe("invalid_grant");
      } else {
        expect(rotated.body.error).toBe("invalid_grant");
      }
    }
  });
});
