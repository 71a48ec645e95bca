import { describe, expect, it } from "vitest";
import { HttpSession } from "../helpers/http-session.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

async function signedInUser(server: TestServer, email: string) {
  const browser = new HttpSession(server.url);
  const res = await browser.devSignIn(email);
  expect(res.status).toBe(302);
  const request = new Request(server.url, { headers: { cookie: `__session=${browser.cookies.get("__session")!.value}` } });
  return { browser, request, user: (await server.services.auth.getUser(request))! };
}

describe("roles: ADMIN_EMAILS, promotions, everyone else USER", () => {
  it("gives ADMIN to ADMIN_EMAILS members (any letter case) and USER to everyone else", async () => {
    const server = await startTestServer({ ADMIN_EMAILS: "admin@example.com, Ops@Example.com" });
    expect((await signedInUser(server, "admin@example.com")).user.role).toBe("ADMIN");
    expect((await signedInUser(server, "OPS@example.com")).user.role).toBe("ADMIN");
    expect((await signedInUser(server, "someone@example.com")).user.role).toBe("USER");
    // Look-alikes are not members.
    expect((await signedInUser(server, "admin@example.com.evil.test")).user.role).toBe("USER");
    expect((await signedInUser(server, "xadmin@example.com")).user.role).toBe("USER");
  });

  it("re-checks ADMIN_EMAILS at each sign-in: removed from the list, the next sign-in is USER", async () => {
    const first = await startTestServer({ ADMIN_EMAILS: "former@example.com" });
    expect((await signedInUser(first, "former@example.com")).user.role).toBe("ADMIN");
    // The same database, restarted without that address in ADMIN_EMAILS.
    const second = await startTestServer({ ADMIN_EMAILS: "someone-else@example.com" }, { database: first.database });
    expect((await signedInUser(second, "former@example.com")).user.role).toBe("USER");
    // And added back: ADMIN again.
    const third = await startTestServer({ ADMIN_EMAILS: "former@example.com" }, { database: first.database });
    expect((await signedInUser(third, "former@example.com")).user.role).toBe("ADMIN");
  });

  it("keeps a user promoted in the console (promotedAt) an admin across sign-ins", async () => {
    const server = await startTestServer();
    const { user } = await signedInUser(server, "promoted@example.com");
    expect(user.role).toBe("USER");
    await server.services.prisma.user.update({ where: { id: user.id }, data: { role: "ADMIN", promotedAt: new Date() } });
    expect((await signedInUser(server, "promoted@example.com")).user.role).toBe("ADMIN");
    // Demoted (promotedAt cleared): the next sign-in is USER again.
    await server.services.prisma.user.update({ where: { id: user.id }, data: { promotedAt: null } });
    expect((await signedInUser(server, "promoted@example.com")).user.role).toBe("USER");
  });

  it("requireAdmin answers 403 to a signed-in USER and sends anonymous visitors to sign-in", async () => {
    const server = await startTestServer({ ADMIN_EMAILS: "admin@example.com" });
    const { request: adminRequest } = await signedInUser(server, "admin@example.com");
    const { request: userRequest } = await signedInUser(server, "user@example.com");
    await expect(server.services.auth.requireAdmin(adminRequest)).resolves.toMatchObject({ role: "ADMIN" });
    const refused = await server.services.auth.requireAdmin(userRequest).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(Response);
    expect((refused as Response).status).toBe(403);
    const anonymous = await server.services.auth.requireAdmin(new Request(`${server.url}/admin/clients?page=2`)).catch((e: unknown) => e);
    expect((anonymous as Response).status).toBe(302);
    expect((anonymous as Response).headers.get("location")).toBe("/login?returnTo=%2Fadmin%2Fclients%3Fpage%3D2");
  });

  it("the issue's production scenario: NODE_ENV=production, AUTH_DEV_LOGIN=true, ADMIN_EMAILS=admin@example.com gives an admin session", async () => {
    const server = await startTestServer({
      NODE_ENV: "production",
      AUTH_SECRET: "p".repeat(48),
      APP_URL: "https://auth.example.test",
      ADMIN_EMAILS: "admin@example.com",
      AUTH_DEV_LOGIN: "true",
    });
    const { browser, user } = await signedInUser(server, "admin@example.com");
    expect(user.role).toBe("ADMIN");
    expect(browser.cookies.get("__session")!.raw).toMatch(/; Secure/i);
    const html = await (await browser.fetch("/")).text();
    expect(html).toContain("admin@example.com");
    expect(html).toMatch(/>admin</);
  });
});
