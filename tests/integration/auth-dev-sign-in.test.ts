import { describe, expect, it } from "vitest";
import { HttpSession, setCookieFor } from "../helpers/http-session.ts";
import { startTestServer } from "../helpers/server.ts";

describe("development sign-in over HTML forms", () => {
  it("renders an Email field and a Sign in (development) button, with a CSRF cookie", async () => {
    const server = await startTestServer();
    const res = await fetch(`${server.url}/login`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toMatch(/<label[^>]*for="email"[^>]*>Email<\/label>/);
    expect(html).toContain("Sign in (development)");
    // A page with a CSRF token is never cached.
    expect(res.headers.get("cache-control")).toBe("no-store");
    const csrf = setCookieFor(res, "__csrf");
    expect(csrf).toMatch(/; HttpOnly/i);
    expect(csrf).toMatch(/; SameSite=Lax/i);
  });

  it("signs in, sets an httpOnly SameSite=Lax session cookie (not Secure on http), and returns to returnTo", async () => {
    const server = await startTestServer();
    const browser = new HttpSession(server.url);
    const res = await browser.devSignIn("Someone@Example.com", "/account?tab=apps");
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/account?tab=apps");
    const cookie = setCookieFor(res, "__session")!;
    expect(cookie).toMatch(/; HttpOnly/i);
    expect(cookie).toMatch(/; SameSite=Lax/i);
    expect(cookie).toMatch(/; Path=\//i);
    expect(cookie).toMatch(/; Max-Age=2592000/i);
    expect(cookie).not.toMatch(/; Secure/i);

    const home = await browser.fetch("/");
    expect(await home.text()).toContain("someone@example.com");
    const user = await server.services.prisma.user.findUniqueOrThrow({ where: { email: "someone@example.com" }, include: { accounts: true, sessions: true } });
    expect(user.accounts).toEqual([expect.objectContaining({ provider: "dev", providerAccountId: "someone@example.com" })]);
    expect(user.sessions).toHaveLength(1);
    // Only the digest of the cookie's token is stored.
    const token = decodeURIComponent(browser.cookies.get("__session")!.value);
    expect(JSON.stringify(user.sessions)).not.toContain(token.slice(0, 20));
    expect(user.sessions[0]!.sessionTokenHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("marks cookies Secure when APP_URL is https", async () => {
    const server = await startTestServer({ APP_URL: "https://auth.example.test", AUTH_DEV_LOGIN: "true" });
    const browser = new HttpSession(server.url);
    const page = await browser.fetch("/login");
    expect(setCookieFor(page, "__csrf")).toMatch(/; Secure/i);
    const csrf = /name="csrf" value="([^"]+)"/.exec(await page.text())![1]!;
    const res = await browser.postForm("/login", { csrf, email: "secure@example.com", returnTo: "/" });
    expect(res.status).toBe(302);
    expect(setCookieFor(res, "__session")).toMatch(/; Secure/i);
  });

  describe("CSRF (double-submit cookie)", () => {
    it("refuses a form without the token", async () => {
      const server = await startTestServer();
      const browser = new HttpSession(server.url);
      await browser.csrfToken();
      const res = await browser.postForm("/login", { email: "victim@example.com", returnTo: "/" });
      expect(res.status).toBe(403);
      expect(await res.text()).toContain("Your sign-in form expired");
      expect(setCookieFor(res, "__session")).toBeUndefined();
      expect(await server.services.prisma.user.count()).toBe(0);
    });

    it("refuses a token without its cookie (a cross-site form) and a token that does not match the cookie", async () => {
      const server = await startTestServer();
      const token = await new HttpSession(server.url).csrfToken();
      const attacker = new HttpSession(server.url);
      expect((await attacker.postForm("/login", { csrf: token, email: "x@example.com" })).status).toBe(403);
      const other = new HttpSession(server.url);
      await other.csrfToken();
      expect((await other.postForm("/login", { csrf: token, email: "x@example.com" })).status).toBe(403);
      expect(await server.services.prisma.session.count()).toBe(0);
    });
  });

  it("refuses a cross-site form post by its Origin with a 403 (never a 500), and accepts our own origin", async () => {
    const server = await startTestServer();
    const browser = new HttpSession(server.url);
    const csrf = await browser.csrfToken();
    for (const origin of ["https://evil.example", "null", "not a url"]) {
      const res = await browser.postForm("/login", { csrf, email: "victim@example.com" }, { origin });
      expect(res.status, origin).toBe(403);
      expect(await res.text()).toBe("Cross-site form submissions are not accepted.");
    }
    expect(await server.services.prisma.user.count()).toBe(0);
    const own = await browser.postForm("/login", { csrf, email: "me@example.com" }, { origin: server.url });
    expect(own.status).toBe(302);
  });

  it("survives simultaneous first sign-ins of one address (one user, one account, every session valid)", async () => {
    const server = await startTestServer();
    const results = await Promise.all(
      Array.from({ length: 6 }, () =>
        server.services.auth.signIn({ email: "Race@Example.com", provider: "dev", providerAccountId: "race@example.com" }),
      ),
    );
    expect(new Set(results.map((r) => r.user.id)).size).toBe(1);
    expect(await server.services.prisma.user.count()).toBe(1);
    expect(await server.services.prisma.account.count()).toBe(1);
    expect(await server.services.prisma.session.count()).toBe(6);
  });

  it("/api/auth/signin (the original's address) sends the browser to /login; its callbackUrl becomes a same-origin returnTo", async () => {
    const server = await startTestServer();
    const location = async (query: string) => {
      const res = await fetch(`${server.url}/api/auth/signin${query}`, { redirect: "manual" });
      expect(res.status).toBe(302);
      return res.headers.get("location");
    };
    expect(await location("")).toBe("/login");
    expect(await location("?callbackUrl=%2Fadmin%3Fx%3D1")).toBe("/login?returnTo=%2Fadmin%3Fx%3D1");
    expect(await location(`?callbackUrl=${encodeURIComponent(`${server.env.APP_URL}/account`)}`)).toBe("/login?returnTo=%2Faccount");
    for (const open of ["https://evil.example/", "//evil.example/x", `${server.env.APP_URL}.evil.example/x`]) {
      expect(await location(`?callbackUrl=${encodeURIComponent(open)}`), open).toBe("/login");
    }
  });

  it("refuses an invalid email address", async () => {
    const server = await startTestServer();
    const browser = new HttpSession(server.url);
    const csrf = await browser.csrfToken();
    const res = await browser.postForm("/login", { csrf, email: "not an email" });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("Enter a valid email address.");
  });

  it("is off in production unless AUTH_DEV_LOGIN=true", async () => {
    const server = await startTestServer({ NODE_ENV: "production" });
    const browser = new HttpSession(server.url);
    const page = await browser.fetch("/login");
    const html = await page.text();
    expect(html).not.toContain("Sign in (development)");
    expect(html).toContain("No sign-in method is configured.");
    // Posting the form anyway does not sign in.
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? "";
    const res = await browser.postForm("/login", { csrf, email: "admin@example.com" });
    expect(res.status).toBe(403);
    expect(await server.services.prisma.user.count()).toBe(0);

    const enabled = await startTestServer({ NODE_ENV: "production", AUTH_DEV_LOGIN: "true" });
    const res2 = await new HttpSession(enabled.url).devSignIn("admin@example.com");
    expect(res2.status).toBe(302);
  });

  it("is off when Google is configured, unless AUTH_DEV_LOGIN=true", async () => {
    const google = { GOOGLE_CLIENT_ID: "id.apps.googleusercontent.com", GOOGLE_CLIENT_SECRET: "secret", GOOGLE_ISSUER: "http://127.0.0.1:9" };
    const server = await startTestServer({ NODE_ENV: "development", ...google });
    const html = await (await fetch(`${server.url}/login`)).text();
    expect(html).toContain("Sign in with Google");
    expect(html).not.toContain("Sign in (development)");
    const both = await startTestServer({ ...google, AUTH_DEV_LOGIN: "true" });
    const html2 = await (await fetch(`${both.url}/login`)).text();
    expect(html2).toContain("Sign in with Google");
    expect(html2).toContain("Sign in (development)");
  });

  describe("returnTo stays on this origin (RFC 9700 §4.11)", () => {
    it.each(["//evil.com", "https://evil.com/", "/\\evil.com", "/..//evil.com", "/%2e%2e//evil.com", "javascript:alert(1)", "/\t/evil.com"])(
      "ignores returnTo=%j when signing in and when already signed in",
      async (returnTo) => {
        const server = await startTestServer();
        const browser = new HttpSession(server.url);
        const csrf = await browser.csrfToken(`/login?returnTo=${encodeURIComponent(returnTo)}`);
        const res = await browser.postForm(`/login?returnTo=${encodeURIComponent(returnTo)}`, { csrf, email: "a@example.com", returnTo });
        expect(res.status).toBe(302);
        expect(res.headers.get("location")).toBe("/");
        // Signed in: /login redirects straight to returnTo, which must be refused the same way.
        const again = await browser.fetch(`/login?returnTo=${encodeURIComponent(returnTo)}`);
        expect(again.status).toBe(302);
        expect(again.headers.get("location")).toBe("/");
      },
    );

    it("keeps the hidden returnTo field of the page safe too", async () => {
      const server = await startTestServer();
      const html = await (await fetch(`${server.url}/login?returnTo=${encodeURIComponent("//evil.com")}`)).text();
      expect(html).toContain('name="returnTo" value="/"');
    });
  });
});
