import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeGoogle, type FakeGoogle } from "../helpers/fake-google.ts";
import { HttpSession, setCookieFor } from "../helpers/http-session.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

let google: FakeGoogle;
let server: TestServer;

beforeAll(async () => {
  google = await startFakeGoogle();
  server = await startTestServer({ ...google.env, ADMIN_EMAILS: "boss@example.com" });
});
afterAll(() => google.close());

/** POST /auth/google from the sign-in page's form; returns the redirect to the provider. */
async function begin(browser: HttpSession, returnTo = "/") {
  const csrf = await browser.csrfToken(`/login?returnTo=${encodeURIComponent(returnTo)}`);
  return browser.postForm(`/auth/google?returnTo=${encodeURIComponent(returnTo)}`, { csrf });
}

/** The whole round trip as a browser does it; returns the callback's response. */
async function signInWithGoogle(browser: HttpSession, returnTo = "/") {
  const start = await begin(browser, returnTo);
  expect(start.status).toBe(302);
  const atGoogle = await browser.fetch(start.headers.get("location")!);
  expect(atGoogle.status).toBe(302);
  return browser.fetch(atGoogle.headers.get("location")!);
}

function resetFake() {
  google.next = "approve";
  google.down = false;
  google.profile = { sub: "1001", email: "person@example.com", email_verified: true, name: "Pat Person", picture: "https://lh3.googleusercontent.com/a/pat" };
}

describe("Google sign-in (OpenID Connect, authorization code + PKCE) against a fake provider", () => {
  it("shows the Google button when configured", async () => {
    const html = await (await fetch(`${server.url}/login`)).text();
    expect(html).toContain("Sign in with Google");
    expect(html).toMatch(/action="\/auth\/google\?returnTo=%2F"/);
  });

  it("sends the browser to the discovered authorization endpoint with state and an S256 PKCE challenge (RFC 7636 §4.3)", async () => {
    resetFake();
    const browser = new HttpSession(server.url);
    const res = await begin(browser, "/admin");
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get("location")!);
    expect(location.origin + location.pathname).toBe(`${google.issuer}/o/oauth2/v2/auth`);
    expect(Object.fromEntries(location.searchParams)).toMatchObject({
      response_type: "code",
      client_id: google.clientId,
      redirect_uri: `${server.env.APP_URL}/api/auth/callback/google`,
      code_challenge_method: "S256",
    });
    expect(location.searchParams.get("scope")!.split(" ").sort()).toEqual(["email", "openid", "profile"]);
    expect(location.searchParams.get("state")!.length).toBeGreaterThanOrEqual(20);
    expect(location.searchParams.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // The state (and PKCE verifier) and the returnTo ride in httpOnly, SameSite=Lax cookies.
    const cookies = res.headers.getSetCookie();
    expect(cookies.some((c) => /^__google_oauth:[\w-]+=/.test(c) && /HttpOnly/i.test(c) && /SameSite=Lax/i.test(c))).toBe(true);
    expect(cookies.some((c) => c.startsWith("__google_return=") && /HttpOnly/i.test(c))).toBe(true);
  });

  it("signs in, links the Google account by `sub`, and returns to returnTo", async () => {
    resetFake();
    const browser = new HttpSession(server.url);
    const res = await signInWithGoogle(browser, "/account?x=1");
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/account?x=1");
    expect(setCookieFor(res, "__session")).toMatch(/HttpOnly/i);
    // The spent state and returnTo cookies are deleted.
    expect([...browser.cookies.keys()].filter((name) => name.startsWith("__google"))).toEqual([]);

    const html = await (await browser.fetch("/")).text();
    expect(html).toContain("person@example.com");
    const user = await server.services.prisma.user.findUniqueOrThrow({ where: { email: "person@example.com" }, include: { accounts: true } });
    expect(user).toMatchObject({ name: "Pat Person", image: "https://lh3.googleusercontent.com/a/pat", role: "USER" });
    expect(user.accounts).toEqual([expect.objectContaining({ provider: "google", providerAccountId: "1001" })]);

    // What our server sent to the token endpoint: client_secret_basic, the redirect URI, and the PKCE verifier.
    const tokenRequest = google.requests.findLast((r) => r.path === "/token")!;
    expect(tokenRequest.authorization).toMatch(/^Basic /);
    expect(tokenRequest.params).toMatchObject({ grant_type: "authorization_code", redirect_uri: `${server.env.APP_URL}/api/auth/callback/google` });
    expect(tokenRequest.params.code_verifier).toMatch(/^[A-Za-z0-9_-]{43,128}$/);
  });

  it("fetches the discovery document once per server", async () => {
    resetFake();
    await signInWithGoogle(new HttpSession(server.url));
    await signInWithGoogle(new HttpSession(server.url));
    expect(google.requests.filter((r) => r.path === "/.well-known/openid-configuration")).toHaveLength(1);
  });

  it("gives ADMIN to an ADMIN_EMAILS member signing in with Google", async () => {
    resetFake();
    google.profile = { sub: "2002", email: "Boss@Example.com", email_verified: true };
    const browser = new HttpSession(server.url);
    expect((await signInWithGoogle(browser)).status).toBe(302);
    const user = await server.services.auth.getUser(new Request(server.url, { headers: { cookie: `__session=${browser.cookies.get("__session")!.value}` } }));
    expect(user).toMatchObject({ email: "boss@example.com", role: "ADMIN" });
  });

  it("refuses an unverified email address", async () => {
    resetFake();
    google.profile = { sub: "3003", email: "unverified@example.com", email_verified: false };
    const browser = new HttpSession(server.url);
    const res = await signInWithGoogle(browser, "/admin");
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/login?error=google_unverified_email&returnTo=%2Fadmin");
    expect(setCookieFor(res, "__session")).toBeUndefined();
    expect(await server.services.prisma.user.findUnique({ where: { email: "unverified@example.com" } })).toBeNull();
    const page = await browser.fetch(res.headers.get("location")!);
    expect(await page.text()).toContain("email address is not verified");
  });

  it("refuses a callback whose state does not match the cookie (RFC 6749 §10.12), without redeeming the code", async () => {
    resetFake();
    const browser = new HttpSession(server.url);
    const start = await begin(browser);
    const atGoogle = await browser.fetch(start.headers.get("location")!);
    const callback = new URL(atGoogle.headers.get("location")!);
    callback.searchParams.set("state", "forged-state-value-0123456789");
    const tokenCalls = google.requests.filter((r) => r.path === "/token").length;
    const res = await browser.fetch(callback.toString());
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/login?error=google_state");
    expect(setCookieFor(res, "__session")).toBeUndefined();
    expect(google.requests.filter((r) => r.path === "/token")).toHaveLength(tokenCalls);
    expect(await (await browser.fetch("/login?error=google_state")).text()).toContain("expired or was not started here");
  });

  it("refuses a callback with no state cookie at all (login CSRF: an attacker's code in a victim's browser)", async () => {
    resetFake();
    const attacker = new HttpSession(server.url);
    const start = await begin(attacker);
    const atGoogle = await attacker.fetch(start.headers.get("location")!);
    const victim = new HttpSession(server.url);
    const res = await victim.fetch(atGoogle.headers.get("location")!);
    expect(res.headers.get("location")).toBe("/login?error=google_state");
    expect(victim.cookies.has("__session")).toBe(false);
  });

  it("explains a denied consent (error=access_denied, RFC 6749 §4.1.2.1)", async () => {
    resetFake();
    google.next = "deny";
    const browser = new HttpSession(server.url);
    const res = await signInWithGoogle(browser, "/account");
    expect(res.headers.get("location")).toBe("/login?error=google_access_denied&returnTo=%2Faccount");
    expect(await (await browser.fetch(res.headers.get("location")!)).text()).toContain("Google sign-in was cancelled.");
  });

  it("requires the sign-in page's CSRF token to start", async () => {
    resetFake();
    const browser = new HttpSession(server.url);
    await browser.csrfToken();
    const res = await browser.postForm("/auth/google?returnTo=%2Fadmin", { csrf: "wrong" });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/login?error=csrf&returnTo=%2Fadmin");
    expect(res.headers.getSetCookie().some((c) => c.startsWith("__google"))).toBe(false);
  });

  it("never returns off-origin, whatever returnTo says", async () => {
    resetFake();
    const res = await signInWithGoogle(new HttpSession(server.url), "//evil.com/steal");
    expect(res.headers.get("location")).toBe("/");
  });

  it("GET /auth/google starts nothing and goes to the sign-in page", async () => {
    const res = await fetch(`${server.url}/auth/google?returnTo=%2Fadmin`, { redirect: "manual" });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/login?returnTo=%2Fadmin");
  });
});

describe("Google accounts are linked by `sub` (OIDC Core §5.7: `sub` is the stable identifier, email is not)", () => {
  async function userOf(browser: HttpSession) {
    const cookie = `__session=${browser.cookies.get("__session")!.value}`;
    return server.services.auth.getUser(new Request(server.url, { headers: { cookie } }));
  }

  it("a changed Google address still signs in the same user, whose email follows it", async () => {
    resetFake();
    google.profile = { sub: "5005", email: "old-address@example.com", email_verified: true };
    const first = new HttpSession(server.url);
    await signInWithGoogle(first);
    const before = await userOf(first);
    google.profile = { sub: "5005", email: "new-address@example.com", email_verified: true };
    const second = new HttpSession(server.url);
    await signInWithGoogle(second);
    const after = await userOf(second);
    expect(after!.id).toBe(before!.id);
    expect(after!.email).toBe("new-address@example.com");
    expect(await server.services.prisma.user.findUnique({ where: { email: "old-address@example.com" } })).toBeNull();
  });

  it("keeps the linked user's email when the new address belongs to someone else", async () => {
    resetFake();
    const other = new HttpSession(server.url);
    google.profile = { sub: "6006", email: "taken@example.com", email_verified: true };
    await signInWithGoogle(other);
    google.profile = { sub: "7007", email: "mine@example.com", email_verified: true };
    const me = new HttpSession(server.url);
    await signInWithGoogle(me);
    const mine = await userOf(me);
    google.profile = { sub: "7007", email: "taken@example.com", email_verified: true };
    const again = new HttpSession(server.url);
    await signInWithGoogle(again);
    expect(await userOf(again)).toMatchObject({ id: mine!.id, email: "mine@example.com" });
    expect((await userOf(other))!.email).toBe("taken@example.com");
  });
});

describe("Google sign-in when the provider is down", () => {
  it("explains it on /login (never a 500), and works again once the provider is back", async () => {
    const fake = await startFakeGoogle();
    try {
      const app = await startTestServer(fake.env);
      fake.down = true;
      const browser = new HttpSession(app.url);
      const res = await begin(browser, "/account");
      expect(res.status).toBe(302);
      expect(res.headers.get("location")).toBe("/login?error=google_unavailable&returnTo=%2Faccount");
      expect(await (await browser.fetch(res.headers.get("location")!)).text()).toContain("Google could not be reached");

      // A failed discovery is not cached.
      fake.down = false;
      const again = await begin(browser, "/account");
      expect(new URL(again.headers.get("location")!).origin).toBe(fake.issuer);

      // Down between the authorization and the token request.
      const atGoogle = await browser.fetch(again.headers.get("location")!);
      fake.down = true;
      const callback = await browser.fetch(atGoogle.headers.get("location")!);
      expect(callback.headers.get("location")).toBe("/login?error=google_unavailable&returnTo=%2Faccount");
    } finally {
      await fake.close();
    }
  });

  it("explains an unreachable provider (nothing listening)", async () => {
    const fake = await startFakeGoogle();
    await fake.close();
    const app = await startTestServer(fake.env);
    const res = await begin(new HttpSession(app.url));
    expect(res.headers.get("location")).toBe("/login?error=google_unavailable");
  });

  it("refuses a discovery document that names another issuer (OIDC Discovery §4.3)", async () => {
    const fake = await startFakeGoogle();
    try {
      // The server asks for the issuer with a path the fake's document does not name.
      const app = await startTestServer({ ...fake.env, GOOGLE_ISSUER: `${fake.issuer}/` });
      const ok = await begin(new HttpSession(app.url));
      expect(new URL(ok.headers.get("location")!).origin).toBe(fake.issuer);
      const bad = await startTestServer({ ...fake.env, GOOGLE_ISSUER: fake.issuer.replace("127.0.0.1", "localhost") });
      const res = await begin(new HttpSession(bad.url));
      expect(res.headers.get("location")).toBe("/login?error=google_unavailable");
    } finally {
      await fake.close();
    }
  });
});
