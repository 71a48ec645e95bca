import { describe, expect, it } from "vitest";
import { HttpSession, setCookieFor } from "../helpers/http-session.ts";
import { startTestServer } from "../helpers/server.ts";

describe("sessions: expiry, cleanup job, sign-out", () => {
  it("does not accept an expired session cookie", async () => {
    const server = await startTestServer();
    const browser = new HttpSession(server.url);
    await browser.devSignIn("expiring@example.com");
    expect(await (await browser.fetch("/")).text()).toContain("expiring@example.com");
    await server.services.prisma.session.updateMany({ data: { expires: new Date(Date.now() - 1000) } });
    const html = await (await browser.fetch("/")).text();
    expect(html).not.toContain("expiring@example.com");
    // /login no longer treats the browser as signed in.
    expect((await browser.fetch("/login")).status).toBe(200);
  });

  it("sessions.cleanup deletes expired sessions only", async () => {
    const server = await startTestServer();
    const alive = new HttpSession(server.url);
    await alive.devSignIn("alive@example.com");
    const expired = new HttpSession(server.url);
    await expired.devSignIn("expired@example.com");
    const { prisma } = server.services;
    const expiredUser = await prisma.user.findUniqueOrThrow({ where: { email: "expired@example.com" } });
    await prisma.session.updateMany({ where: { userId: expiredUser.id }, data: { expires: new Date(Date.now() - 60_000) } });
    // A session expiring in the future but soon is kept.
    const aliveUser = await prisma.user.findUniqueOrThrow({ where: { email: "alive@example.com" } });
    await prisma.session.updateMany({ where: { userId: aliveUser.id }, data: { expires: new Date(Date.now() + 60_000) } });

    const events: Array<{ deleted: number }> = [];
    server.services.events.on("session.cleanup", (e) => events.push(e));
    await server.services.jobs.run("sessions.cleanup");

    expect(await prisma.session.count({ where: { userId: expiredUser.id } })).toBe(0);
    expect(await prisma.session.count({ where: { userId: aliveUser.id } })).toBe(1);
    expect(events).toEqual([{ deleted: 1 }]);
    // Users themselves are untouched.
    expect(await prisma.user.count()).toBe(2);
    expect(await (await alive.fetch("/")).text()).toContain("alive@example.com");
  });

  it("signs out with the home page's Sign out form: the session row is deleted and the cookie cleared", async () => {
    const server = await startTestServer();
    const browser = new HttpSession(server.url);
    await browser.devSignIn("leaving@example.com");
    const stolenCookie = browser.cookies.get("__session")!.value;
    const home = await (await browser.fetch("/")).text();
    expect(home).toContain("Sign out");
    const csrf = /action="\/logout"[\s\S]*?name="csrf" value="([^"]+)"/.exec(home)![1]!;

    const res = await browser.postForm("/logout", { csrf });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/login");
    expect(setCookieFor(res, "__session")).toMatch(/Max-Age=0|Expires=Thu, 01 Jan 1970/i);
    expect(browser.cookies.has("__session")).toBe(false);
    expect(await server.services.prisma.session.count()).toBe(0);
    // The old cookie value is worthless now.
    const replay = await fetch(`${server.url}/`, { headers: { cookie: `__session=${stolenCookie}` } });
    expect(await replay.text()).not.toContain("leaving@example.com");
  });

  it("does not sign out without the CSRF token, nor on GET", async () => {
    const server = await startTestServer();
    const browser = new HttpSession(server.url);
    await browser.devSignIn("staying@example.com");
    expect((await browser.postForm("/logout", {})).status).toBe(403);
    expect((await browser.postForm("/logout", { csrf: "forged" })).status).toBe(403);
    const get = await browser.fetch("/logout");
    expect(get.status).toBe(200);
    expect(await get.text()).toMatch(/Signed in as (<!-- -->)?staying@example.com/);
    expect(await server.services.prisma.session.count()).toBe(1);
    expect(await (await browser.fetch("/")).text()).toContain("staying@example.com");
  });

  it("a session cookie not signed with AUTH_SECRET is ignored", async () => {
    const server = await startTestServer();
    const browser = new HttpSession(server.url);
    await browser.devSignIn("signed@example.com");
    const value = decodeURIComponent(browser.cookies.get("__session")!.value);
    // Remix signs `base64(json).signature`; strip the signature, or forge one.
    const unsigned = value.slice(0, value.lastIndexOf("."));
    for (const forged of [unsigned, `${unsigned}.AAAA`]) {
      const html = await (await fetch(`${server.url}/`, { headers: { cookie: `__session=${encodeURIComponent(forged)}` } })).text();
      expect(html).not.toContain("signed@example.com");
    }
  });
});
