/**
 * The admin console end to end in Chromium: a client registered over RFC 7591 shows up in the list, an admin
 * revokes its tokens from the client's page and /mcp/mcp refuses its access token at once (RFC 7009 §2, RFC 6750
 * §3.1); a client created by hand shows its secret once; every page renders on desktop and at phone width.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { devSignIn, screenshot, signedInPage, type TestBrowser, type Viewport } from "../helpers/browser.ts";
import type { TestServer } from "../helpers/server.ts";
import { ADMIN, PHONE, confirmThrough, connectThroughConsent, hydrated, mcpStatus, registerClient, startConsole } from "./admin-helpers.ts";

let server: TestServer;
let browser: TestBrowser;

beforeAll(async () => {
  ({ server, browser } = await startConsole());
});
afterAll(() => browser?.close());

const adminPage = (viewport?: Viewport) => signedInPage(browser, server.url, ADMIN, "/admin", viewport);

describe("Admin console end to end", { timeout: 90_000 }, () => {
  it("lists a client registered at /api/oauth/register; revoking its tokens makes /mcp/mcp refuse them", async () => {
    // A person connects a dynamically registered MCP client through the real consent page.
    const registered = await registerClient(server.url, "Claude Desktop (e2e)");
    const person = await browser.newPage();
    await devSignIn(person.page, server.url, "alice@example.com");
    const tokens = await connectThroughConsent(person.page, server.url, registered);
    await person.context.close();
    expect(await mcpStatus(server.url, tokens.access_token)).toBe(200);

    const { page, errors, close } = await adminPage();
    await page.goto(`${server.url}/admin/clients`);
    const row = page.getByRole("row").filter({ hasText: "Claude Desktop (e2e)" });
    await row.waitFor();
    await row.getByText(registered.client_id).waitFor();
    await row.getByText("Dynamic").waitFor();
    await screenshot(page, "admin-clients-with-registered-client");

    await row.getByRole("link", { name: "Claude Desktop (e2e)" }).click();
    await page.waitForURL((url) => url.pathname.startsWith("/admin/clients/"));
    await page.getByRole("heading", { name: "Claude Desktop (e2e)", level: 1 }).waitFor();
    await page.getByRole("row").filter({ hasText: "alice@example.com" }).waitFor();
    await hydrated(page);
    await screenshot(page, "admin-client-detail-with-grants");

    await confirmThrough(page, page.getByRole("button", { name: "Revoke all tokens" }), "Revoke all tokens");
    await page.getByTestId("toast").filter({ hasText: "1 grant revoked" }).waitFor();
    await page.getByText("No active grants.").waitFor();
    expect(await mcpStatus(server.url, tokens.access_token)).toBe(401);
    // The refresh token is dead too.
    const refresh = await fetch(`${server.url}/api/oauth/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: tokens.refresh_token!, client_id: registered.client_id }),
    });
    expect(refresh.status).toBe(400);
    await screenshot(page, "admin-client-detail-after-revoke");
    expect(errors).toEqual([]);
    await close();
  });

  it("disabling a client refuses its tokens; enabling restores them", async () => {
    const registered = await registerClient(server.url, "Disable me");
    const person = await browser.newPage();
    await devSignIn(person.page, server.url, "bob@example.com");
    const tokens = await connectThroughConsent(person.page, server.url, registered);
    await person.context.close();

    const { page, close } = await adminPage();
    await page.goto(`${server.url}/admin/clients?q=${encodeURIComponent("Disable me")}`);
    await page.getByRole("link", { name: "Disable me" }).click();
    await page.waitForURL((url) => url.pathname.startsWith("/admin/clients/"));
    await hydrated(page);
    await confirmThrough(page, page.getByRole("button", { name: "Disable", exact: true }), "Disable client");
    await page.getByRole("button", { name: "Enable" }).waitFor({ timeout: 5_000 });
    expect(await mcpStatus(server.url, tokens.access_token)).toBe(401);
    await page.getByRole("button", { name: "Enable" }).click();
    await page.getByRole("button", { name: "Disable", exact: true }).waitFor({ timeout: 5_000 });
    expect(await mcpStatus(server.url, tokens.access_token)).toBe(200);
    await close();
  });

  it("creates a confidential client by hand and shows its secret once", async () => {
    const { page, errors, close } = await adminPage();
    await page.goto(`${server.url}/admin/clients`);
    await hydrated(page);
    await page.getByRole("button", { name: "New client" }).click();
    const dialog = page.getByRole("dialog", { name: "New client" });
    await dialog.getByLabel("Name").fill("Nightly report job");
    await dialog.getByLabel(/Redirect URIs/).fill("http://evil.example/callback");
    await dialog.getByRole("button", { name: "Create client" }).click();
    // The registration rules apply: plain http is only for loopback hosts.
    await expect(dialog.getByRole("alert").textContent()).resolves.toMatch(/http: is allowed only for loopback/);
    await dialog.getByLabel(/Redirect URIs/).fill("https://reports.example/callback");
    await screenshot(page, "admin-client-create-dialog");
    await dialog.getByRole("button", { name: "Create client" }).click();
    const created = page.getByRole("dialog", { name: "Client created" });
    const secret = await created.getByRole("textbox", { name: "Client secret" }).inputValue();
    expect(secret).toMatch(/^mcpcs_/);
    await screenshot(page, "admin-client-secret-once");
    await created.getByRole("button", { name: "Done" }).click();
    await page.getByRole("row").filter({ hasText: "Nightly report job" }).waitFor();
    // Only its digest was stored.
    const row = await server.services.prisma.client.findFirstOrThrow({ where: { name: "Nightly report job" } });
    expect(row.kind).toBe("MANUAL");
    expect(row.clientSecretHash).not.toBe(secret);
    expect(errors).toEqual([]);
    await close();
  });

  it("promotes a user from the users page", async () => {
    const other = await browser.newPage();
    await devSignIn(other.page, server.url, "carol@example.com");
    await other.context.close();
    const { page, close } = await adminPage();
    await page.goto(`${server.url}/admin/users`);
    await hydrated(page);
    await confirmThrough(page, page.getByRole("button", { name: "Promote carol@example.com" }), "Promote");
    await page.getByRole("button", { name: "Demote carol@example.com" }).waitFor();
    expect((await server.services.prisma.user.findUniqueOrThrow({ where: { email: "carol@example.com" } })).role).toBe("ADMIN");
    // Keyboard: the dialog opens from the keyboard, focus starts on Cancel, Escape closes it.
    await page.getByRole("button", { name: "Demote carol@example.com" }).focus();
    await page.keyboard.press("Enter");
    const dialog = page.getByRole("dialog");
    await dialog.waitFor();
    await expect(page.evaluate(() => document.activeElement?.textContent)).resolves.toBe("Cancel");
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
    expect((await server.services.prisma.user.findUniqueOrThrow({ where: { email: "carol@example.com" } })).role).toBe("ADMIN");
    await close();
  });

  it("renders every admin page on a desktop and at phone width (screenshots)", async () => {
    // Some data for the dashboard and the security page.
    const client = await server.services.prisma.client.findFirstOrThrow({ where: { name: "Claude Desktop (e2e)" } });
    const carol = await server.services.prisma.user.findUniqueOrThrow({ where: { email: "carol@example.com" } });
    await server.services.prisma.analyticsSecurity.createMany({
      data: [
        { eventType: "TOKEN_REUSE", severity: "high", clientId: client.id, details: { reason: "refresh_token_reuse" } },
        { eventType: "RATE_LIMIT_EXCEEDED", severity: "medium", ipAddress: "203.0.113.9", details: { endpoint: "/api/oauth/token" } },
      ],
    });
    for (const [name, viewport] of [
      ["desktop", undefined],
      ["phone", PHONE],
    ] as const) {
      const { page, errors, close } = await adminPage(viewport);
      for (const [slug, path, heading] of [
        ["dashboard", "/admin", "Dashboard"],
        ["clients", "/admin/clients", "Clients"],
        ["client-detail", `/admin/clients/${client.id}`, "Claude Desktop (e2e)"],
        ["tokens", "/admin/tokens", "Tokens"],
        ["users", "/admin/users", "Users"],
        ["user-detail", `/admin/users/${carol.id}`, "carol@example.com"],
        ["security", "/admin/security", "Security events"],
      ] as const) {
        const response = await page.goto(`${server.url}${path}`);
        expect(response?.status(), path).toBe(200);
        await page.getByRole("heading", { name: heading, level: 1 }).waitFor();
        await hydrated(page);
        await screenshot(page, `admin-${slug}-${name}`);
        // Nothing wider than the screen except inside scrollable tables.
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        expect(overflow, `${path} at ${name} width`).toBeLessThanOrEqual(0);
      }
      expect(errors, `browser errors at ${name} width`).toEqual([]);
      await close();
    }
  });

  it("marks a security event reviewed", async () => {
    const { page, close } = await adminPage();
    await page.goto(`${server.url}/admin/security?severity=high`);
    await hydrated(page);
    const row = page.getByRole("row").filter({ hasText: "TOKEN_REUSE" });
    await row.getByRole("button", { name: /Mark TOKEN_REUSE event .* reviewed/ }).click();
    await row.getByText(`✓ ${ADMIN}`).waitFor();
    const event = await server.services.prisma.analyticsSecurity.findFirstOrThrow({ where: { eventType: "TOKEN_REUSE" } });
    expect(event.reviewedAt).toBeInstanceOf(Date);
    await close();
  });
});
