/**
 * Checklist "Authorization endpoint": response_type, PKCE S256, redirect URI validation (local error page, never a
 * redirect to an unvalidated URI), resource indicators, sign-in and back, consent (CSRF, framing, Deny), state and
 * iss on every redirect, codes (single use, 60 s, bound, hashed), remembered consent, the admin scope rule.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { sha256Hex } from "../../server/crypto.ts";
import type { TestServer } from "../helpers/server.ts";
import {
  authorizeThroughConsent,
  authorizeUrl,
  browse,
  CookieJar,
  hiddenField,
  pkce,
  publicClient,
  register,
  REDIRECT,
  signIn,
  startOAuthFixture,
  tokenRequest,
  type RegisteredClient,
} from "./oauth-support.ts";

let server: TestServer;
let app: string;
let client: RegisteredClient;
let jar: CookieJar;
const { challenge, verifier } = pkce();

let manual: { clientId: string };

beforeAll(async () => {
  ({ server, app, client, jar } = await startOAuthFixture({
    env: { ADMIN_EMAILS: "admin@example.com" },
    client: { client_name: "Acme Agent", redirect_uris: [REDIRECT, "https://acme.example/cb"] },
    email: "user@example.com",
  }));
  // The person approved the client once, so its redirect URI is trusted and errors go back to it (RFC 9700 §4.11.2;
  // an unapproved self-registered client's errors stay on this server: tests/security/open-redirect.test.ts).
  await authorizeThroughConsent(jar, url());
  manual = await server.services.prisma.client.create({
    data: { clientId: "manual-authorize-test", name: "Admin-registered app", kind: "MANUAL", redirectUris: [REDIRECT], scope: "mcp:tools mcp:admin" },
  });
});

function url(params: Record<string, string | undefined> = {}) {
  return authorizeUrl(server.url, {
    response_type: "code",
    client_id: client.client_id,
    redirect_uri: REDIRECT,
    code_challenge: challenge,
    code_challenge_method: "S256",
    state: "st-1",
    ...params,
  });
}

/** A GET that must redirect to the client with an error. */
async function errorRedirect(params: Record<string, string | undefined>, cookies = jar) {
  const res = await browse(cookies, url(params));
  expect(res.status).toBe(302);
  const location = new URL(res.headers.get("location")!);
  expect(location.origin + location.pathname).toBe(REDIRECT);
  return location.searchParams;
}

/** A GET that must render the local error page (no redirect at all). */
async function localError(params: Record<string, string | undefined>) {
  const res = await browse(jar, url(params));
  expect(res.status).toBeGreaterThanOrEqual(400);
  expect(res.headers.get("location")).toBeNull();
  const html = await res.text();
  expect(html).toContain("This sign-in request cannot continue");
  return html;
}

describe("Response type, OAuth 2.1 §4.1.1 (code only)", () => {
  it("unsupported_response_type for token, with state and iss (RFC 9207)", async () => {
    const params = await errorRedirect({ response_type: "token" });
    expect(params.get("error")).toBe("unsupported_response_type");
    expect(params.get("state")).toBe("st-1");
    expect(params.get("iss")).toBe(app);
    expect(params.get("code")).toBeNull();
  });

  it("invalid_request when response_type is missing", async () => {
    expect((await errorRedirect({ response_type: undefined })).get("error")).toBe("invalid_request");
  });
});

describe("PKCE, RFC 7636 §4.4.1 / OAuth 2.1 §4.1.1 (S256 required)", () => {
  it.each([
    [{ code_challenge: undefined }, "code_challenge is required"],
    [{ code_challenge_method: "plain" }, "code_challenge_method must be S256"],
    [{ code_challenge_method: undefined }, "code_challenge_method is required"],
    [{ code_challenge: "tooshort" }, "code_challenge must be"],
  ])("%j → invalid_request", async (params, description) => {
    const result = await errorRedirect(params);
    expect(result.get("error")).toBe("invalid_request");
    expect(result.get("error_description")).toContain(description);
    expect(result.get("state")).toBe("st-1");
    expect(result.get("iss")).toBe(app);
  });
});

describe("Redirect URI and client validation, RFC 6749 §4.1.2.1 / OAuth 2.1 §4.1.1 (local error page)", () => {
  it.each([
    ["https://evil.example/cb"],
    ["http://127.0.0.1:8976/callback/extra"],
    ["http://localhost:8976/callback"],
    ["https://acme.example/cb/"],
    ["https://acme.example/cb?x=1"],
    ["javascript:alert(1)"],
  ])("a redirect_uri that is not registered (%s) renders locally and records REDIRECT_URI_MISMATCH", async (redirectUri) => {
    const security: Array<{ type: string }> = [];
    const off = server.services.events.on("security.event", (e) => security.push(e));
    await localError({ redirect_uri: redirectUri });
    off();
    expect(security.map((e) => e.type)).toContain("REDIRECT_URI_MISMATCH");
  });

  it("an unknown client renders locally", async () => {
    const html = await localError({ client_id: "mcpc_doesnotexist" });
    expect(html).toContain("not registered");
  });

  it("a missing client_id renders locally", async () => {
    await localError({ client_id: undefined });
  });

  it("a missing redirect_uri with several registered renders locally", async () => {
    await localError({ redirect_uri: undefined });
  });

  it("errors found before the redirect URI is validated are never redirected (even bad PKCE)", async () => {
    await localError({ redirect_uri: "https://evil.example/cb", code_challenge: undefined, response_type: "token" });
  });

  it("a repeated parameter renders locally (RFC 6749 §3.1)", async () => {
    const res = await browse(jar, url() + "&redirect_uri=" + encodeURIComponent("https://evil.example/cb"));
    expect(res.status).toBe(400);
    expect(res.headers.get("location")).toBeNull();
  });

  it("a loopback redirect URI matches on any port (RFC 8252 §7.3)", async () => {
    const { location } = await authorizeThroughConsent(jar, url({ redirect_uri: "http://127.0.0.1:40001/callback" }));
    expect(location.origin).toBe("http://127.0.0.1:40001");
    expect(location.searchParams.get("code")).toMatch(/^mcpac_/);
  });

  it("a private-use scheme redirect URI (native app, RFC 8252 §7.1) gets the code, state and iss", async () => {
    const native = await register(server.url, publicClient({ redirect_uris: ["com.example.agent:/oauth2redirect"], application_type: "native" }));
    const { location } = await authorizeThroughConsent(jar, url({ client_id: native.client_id, redirect_uri: "com.example.agent:/oauth2redirect" }));
    expect(location.protocol).toBe("com.example.agent:");
    expect(location.pathname).toBe("/oauth2redirect");
    expect(location.searchParams.get("code")).toMatch(/^mcpac_/);
    expect(location.searchParams.get("state")).toBe("st-1");
    expect(location.searchParams.get("iss")).toBe(app);
  });

  it("redirect_uri may be omitted when the client registered exactly one (OAuth 2.1 §4.1.1)", async () => {
    const single = await register(server.url, publicClient());
    const { location } = await authorizeThroughConsent(jar, url({ client_id: single.client_id, redirect_uri: undefined }));
    const code = location.searchParams.get("code")!;
    expect(location.origin + location.pathname).toBe(REDIRECT);
    const tokens = await tokenRequest(server.url, { grant_type: "authorization_code", code, code_verifier: verifier, client_id: single.client_id });
    expect(tokens.status).toBe(200);
  });
});

describe("Resource indicators, RFC 8707 §2 (invalid_target; canonicalised; default APP_URL/mcp)", () => {
  it.each(["https://evil.example/mcp", "APP/mcp/other", "APP/mcp#frag", "not-a-uri"])("refuses %s with invalid_target", async (resource) => {
    const params = await errorRedirect({ resource: resource.replace("APP", app) });
    expect(params.get("error")).toBe("invalid_target");
    expect(params.get("state")).toBe("st-1");
  });

  it.each([
    ["APP/mcp/mcp/", "/mcp/mcp"],
    ["APP/mcp/sse", "/mcp/sse"],
    [undefined, "/mcp"],
  ])("binds the code and token to %s → APP_URL%s", async (resource, path) => {
    const { location } = await authorizeThroughConsent(jar, url({ resource: resource?.replace("APP", app.replace("http://", "HTTP://")) }));
    const code = location.searchParams.get("code")!;
    const row = await server.services.prisma.authorizationCode.findUniqueOrThrow({ where: { codeHash: sha256Hex(code) } });
    expect(row.resource).toBe(app + path);
  });
});

describe("Sign-in and back (people who are not signed in)", () => {
  it("redirects to /login?returnTo=<this authorization request> and, after signing in, shows the consent page", async () => {
    const anonymous = new CookieJar();
    const first = await browse(anonymous, url({ state: "come-back" }));
    expect(first.status).toBe(302);
    const login = new URL(first.headers.get("location")!, server.url);
    expect(login.pathname).toBe("/login");
    const returnTo = login.searchParams.get("returnTo")!;
    expect(returnTo.startsWith("/oauth/authorize?")).toBe(true);
    expect(new URLSearchParams(returnTo.split("?")[1]).get("state")).toBe("come-back");

    const page = await browse(anonymous, login.href);
    const csrf = hiddenField(await page.text(), "csrf");
    const signedIn = await browse(anonymous, `${server.url}/login`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ csrf, email: "newcomer@example.com", returnTo }),
    });
    expect(signedIn.status).toBe(302);
    expect(signedIn.headers.get("location")).toBe(returnTo);
    const consent = await browse(anonymous, server.url + returnTo);
    expect(consent.status).toBe(200);
    expect(await consent.text()).toContain("Allow");
  });

  it("prompt=none without a session answers login_required to the client", async () => {
    const params = await errorRedirect({ prompt: "none", client_id: manual.clientId }, new CookieJar());
    expect(params.get("error")).toBe("login_required");
    expect(params.get("iss")).toBe(app);
  });
});

describe("Consent page (client name, redirect host, scopes; CSRF; not frameable; Deny)", () => {
  it("names the client, its redirect host and the scopes, and refuses framing", async () => {
    const fresh = await signIn(server.url, "consent-view@example.com");
    const res = await browse(fresh, url({ redirect_uri: "https://acme.example/cb" }));
    expect(res.status).toBe(200);
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    expect(res.headers.get("cache-control")).toBe("no-store");
    const html = await res.text();
    expect(html).toContain("Acme Agent");
    expect(html).toContain("acme.example");
    expect(html).toContain("mcp:tools");
    expect(html).toMatch(/>Allow</);
    expect(html).toMatch(/>Deny</);
    expect(hiddenField(html, "csrf").length).toBeGreaterThan(20);
  });

  it("a POST without the CSRF token, or with a wrong one, is refused and issues no code", async () => {
    const fresh = await signIn(server.url, "csrf@example.com");
    await browse(fresh, url());
    for (const body of [new URLSearchParams({ decision: "allow" }), new URLSearchParams({ decision: "allow", csrf: "forged-token-forged-token-forged" })]) {
      const res = await browse(fresh, url(), { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body });
      expect(res.status).toBe(403);
      expect(res.headers.get("location")).toBeNull();
    }
    const user = await server.services.prisma.user.findUniqueOrThrow({ where: { email: "csrf@example.com" } });
    expect(await server.services.prisma.authorizationCode.count({ where: { userId: user.id } })).toBe(0);
  });

  it("a cross-site POST (someone else's cookies are not sent, so no matching token) cannot approve", async () => {
    const attacker = new CookieJar();
    const res = await browse(attacker, url(), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: "https://evil.example" },
      body: new URLSearchParams({ decision: "allow", csrf: "x".repeat(32) }),
    });
    expect(res.status).toBe(403);
  });

  it("Deny redirects with error=access_denied, state unchanged and iss", async () => {
    const fresh = await signIn(server.url, "denier@example.com");
    const { location } = await authorizeThroughConsent(fresh, url({ state: "keep me/+=&?" }), "deny");
    expect(location.searchParams.get("error")).toBe("access_denied");
    expect(location.searchParams.get("state")).toBe("keep me/+=&?");
    expect(location.searchParams.get("iss")).toBe(app);
    expect(location.searchParams.get("code")).toBeNull();
  });
});

describe("Authorization response, RFC 6749 §4.1.2 and RFC 9207 §2 (code, state, iss)", () => {
  it("carries the code, state unchanged and iss; without state, no state", async () => {
    const { location } = await authorizeThroughConsent(jar, url({ state: "ünïcödé & spaces" }));
    expect(location.searchParams.get("code")).toMatch(/^mcpac_[A-Za-z0-9_-]{43}$/);
    expect(location.searchParams.get("state")).toBe("ünïcödé & spaces");
    expect(location.searchParams.get("iss")).toBe(app);
    const noState = await authorizeThroughConsent(jar, url({ state: undefined }));
    expect(noState.location.searchParams.has("state")).toBe(false);
  });

  it("keeps the registered redirect URI's own query parameters (RFC 6749 §3.1.2)", async () => {
    const withQuery = await register(server.url, publicClient({ redirect_uris: ["https://app.example/cb?tenant=7"] }));
    const { location } = await authorizeThroughConsent(jar, url({ client_id: withQuery.client_id, redirect_uri: "https://app.example/cb?tenant=7" }));
    expect(location.searchParams.get("tenant")).toBe("7");
    expect(location.searchParams.get("code")).toBeTruthy();
  });
});

describe("Consent page: where the answer goes (MCP 2026-07-28 Authorization, Security Considerations)", () => {
  const page = async (redirectUris: string[]) => {
    const registered = await register(server.url, publicClient({ client_name: "Where To", redirect_uris: redirectUris }));
    const res = await browse(jar, url({ client_id: registered.client_id, redirect_uri: redirectUris[0] }));
    expect(res.status).toBe(200);
    return res.text();
  };

  it("names the redirect host, and warns when every redirect URI is a loopback address (§Localhost Redirect URI Risks)", async () => {
    const html = await page(["http://127.0.0.1:7777/cb", "http://localhost:7777/cb"]);
    expect(html).toContain("127.0.0.1:7777");
    expect(html).toContain('data-testid="loopback-warning"');
    expect(html).toContain("only to this computer");
  });

  it("incremental consent: asks only about the scopes not yet allowed, and names the tools that need them", async () => {
    const registered = await register(server.url, publicClient({ client_name: "Step Up", redirect_uris: ["https://app.example/step-up"] }));
    const ask = (scope: string) => url({ client_id: registered.client_id, redirect_uri: "https://app.example/step-up", scope });
    await authorizeThroughConsent(jar, ask("mcp:tools:read"));
    const page = await browse(jar, ask("mcp:tools:read mcp:tools:write"));
    expect(page.status).toBe(200);
    const html = (await page.text()).replaceAll("<!-- -->", "");
    expect(html).toContain("It asks for more");
    expect(html).toMatch(/data-testid="kept-scopes">You already allowed: mcp:tools:read/);
    const added = [...html.matchAll(/data-testid="new-scope"[\s\S]*?<\/li>/g)].map((m) => m[0]);
    expect(added).toHaveLength(1);
    expect(added[0]).toContain("mcp:tools:write");
    expect(added[0]).toContain("Needed by: revoke_connected_app");
    // After Allow, the remembered consent is the union: asking again needs no page.
    await authorizeThroughConsent(jar, ask("mcp:tools:read mcp:tools:write"));
    const again = await browse(jar, ask("mcp:tools:write"));
    expect(again.status).toBe(302);
  });

  it("does not warn when the client can also be reached at an https address", async () => {
    const html = await page(["https://app.example/cb", "http://127.0.0.1:7777/cb"]);
    expect(html).toContain("app.example");
    expect(html).not.toContain('data-testid="loopback-warning"');
  });
});

describe("Authorization codes, RFC 6749 §4.1.2 / RFC 9700 §4.5 (random, ≤ 60 s, bound, hashed at rest)", () => {
  it("stores only the digest, bound to client, user, redirect URI, challenge, resource and scope, for 60 s", async () => {
    const { location } = await authorizeThroughConsent(jar, url({ resource: `${app}/mcp/mcp`, redirect_uri: "http://127.0.0.1:5555/callback" }));
    const code = location.searchParams.get("code")!;
    const row = await server.services.prisma.authorizationCode.findUniqueOrThrow({ where: { codeHash: sha256Hex(code) } });
    const user = await server.services.prisma.user.findUniqueOrThrow({ where: { email: "user@example.com" } });
    const dbClient = await server.services.prisma.client.findUniqueOrThrow({ where: { clientId: client.client_id } });
    expect(row).toMatchObject({
      clientId: dbClient.id,
      userId: user.id,
      redirectUri: "http://127.0.0.1:5555/callback",
      codeChallenge: challenge,
      codeChallengeMethod: "S256",
      resource: `${app}/mcp/mcp`,
      scope: "mcp:tools",
      consumedAt: null,
    });
    expect(row.expiresAt.getTime() - row.createdAt.getTime()).toBe(60_000);
    expect(JSON.stringify(row)).not.toContain(code);
  });

  it("codes are distinct 256-bit values", async () => {
    const codes = new Set<string>();
    for (let i = 0; i < 5; i++) codes.add((await authorizeThroughConsent(jar, url())).location.searchParams.get("code")!);
    expect(codes.size).toBe(5);
    for (const code of codes) expect(Buffer.from(code.slice(6), "base64url")).toHaveLength(32);
  });
});

describe("Remembered consent (per user, client and resource, when the scopes are covered)", () => {
  it("asks once, then skips the page; asks again for another resource, more scope, or prompt=consent", async () => {
    const admin = await signIn(server.url, "admin@example.com");
    const first = await authorizeThroughConsent(admin, url({ scope: "mcp:tools" }));
    expect(first.consentShown).toBe(true);
    const again = await authorizeThroughConsent(admin, url({ scope: "mcp:tools" }));
    expect(again.consentShown).toBe(false);
    expect(again.location.searchParams.get("code")).toBeTruthy();
    expect((await authorizeThroughConsent(admin, url({ scope: "mcp:tools mcp:admin" }))).consentShown).toBe(true);
    expect((await authorizeThroughConsent(admin, url({ scope: "mcp:admin" }))).consentShown).toBe(false);
    expect((await authorizeThroughConsent(admin, url({ resource: `${app}/mcp/sse` }))).consentShown).toBe(true);
    expect((await authorizeThroughConsent(admin, url({ prompt: "consent" }))).consentShown).toBe(true);
  });

  it("prompt=none with consent needed answers consent_required", async () => {
    const fresh = await signIn(server.url, "prompt-none@example.com");
    const params = await errorRedirect({ prompt: "none", client_id: manual.clientId }, fresh);
    expect(params.get("error")).toBe("consent_required");
  });
});

describe("Scopes at the authorization endpoint (mcp:admin for administrators only)", () => {
  async function grantedScope(cookies: CookieJar, scope: string | undefined) {
    const { verifier: v, challenge: c } = pkce();
    const { location } = await authorizeThroughConsent(cookies, url({ scope, code_challenge: c, prompt: "consent" }));
    const code = location.searchParams.get("code");
    if (!code) return { error: location.searchParams.get("error") };
    const tokens = await tokenRequest(server.url, { grant_type: "authorization_code", code, code_verifier: v, client_id: client.client_id, redirect_uri: REDIRECT });
    return { scope: tokens.body.scope };
  }

  it("a non-administrator asking for mcp:tools mcp:admin gets mcp:tools (the consent page says what is not granted)", async () => {
    const page = await (await browse(jar, url({ scope: "mcp:tools mcp:admin", prompt: "consent" }))).text();
    expect(page).toMatch(/Not granted: (<!-- -->)?mcp:admin/);
    expect(await grantedScope(jar, "mcp:tools mcp:admin")).toEqual({ scope: "mcp:tools" });
  });

  it("a non-administrator asking only for mcp:admin gets invalid_scope", async () => {
    const params = await errorRedirect({ scope: "mcp:admin" });
    expect(params.get("error")).toBe("invalid_scope");
  });

  it("an administrator gets both", async () => {
    const admin = await signIn(server.url, "admin@example.com");
    expect(await grantedScope(admin, "mcp:tools mcp:admin")).toEqual({ scope: "mcp:tools mcp:admin" });
  });

  it("no scope gets the default; unknown scopes are ignored; malformed scope is invalid_scope", async () => {
    expect(await grantedScope(jar, undefined)).toEqual({ scope: "mcp:tools" });
    expect(await grantedScope(jar, "openid offline_access")).toEqual({ scope: "mcp:tools" });
    expect((await errorRedirect({ scope: 'mcp:tools "quoted"' })).get("error")).toBe("invalid_scope");
  });

  it("a client registered for mcp:tools only cannot ask for mcp:admin", async () => {
    const narrow = await register(server.url, publicClient({ scope: "mcp:tools" }));
    const admin = await signIn(server.url, "admin@example.com");
    await authorizeThroughConsent(admin, url({ client_id: narrow.client_id, redirect_uri: REDIRECT }));
    const res = await browse(admin, url({ client_id: narrow.client_id, redirect_uri: REDIRECT, scope: "mcp:admin" }));
    expect(new URL(res.headers.get("location")!).searchParams.get("error")).toBe("invalid_scope");
  });
});

describe("Authorization events (one place, for analytics)", () => {
  it("emits oauth.authorize outcomes", async () => {
    const outcomes: string[] = [];
    const off = server.services.events.on("oauth.authorize", (e) => outcomes.push(e.outcome));
    const fresh = await signIn(server.url, "events@example.com");
    await browse(new CookieJar(), url());
    await authorizeThroughConsent(fresh, url());
    await authorizeThroughConsent(fresh, url());
    await browse(fresh, url({ response_type: "token" }));
    off();
    expect(outcomes).toEqual(["login_required", "consent_shown", "approved", "consent_remembered", "error"]);
  });
});
