import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { screenshot, type TestBrowser } from "../helpers/browser.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { launchBrowser, PHONE, signInAs } from "./admin-helpers.ts";

const ADMIN = "admin@example.com";
let server: TestServer;
let browser: TestBrowser;

beforeAll(async () => {
  server = await startTestServer({ ADMIN_EMAILS: ADMIN, AUTH_DEV_LOGIN: "true" });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
});

describe("Admin console: who gets in", () => {
  it("sends an anonymous visitor to sign in, coming back to the page afterwards", async () => {
    const { page, context } = await browser.newPage();
    await page.goto(`${server.url}/admin/users?role=ADMIN`);
    const url = new URL(page.url());
    expect(url.pathname).toBe("/login");
    expect(url.searchParams.get("returnTo")).toBe("/admin/users?role=ADMIN");
    await context.close();
  });

  it("lets an admin in", async () => {
    const { page, context } = await browser.newPage();
    await signInAs(context, server, ADMIN);
    const response = await page.goto(`${server.url}/admin/users`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()["cache-control"]).toBe("private, no-store");
    await expect(page.getByRole("heading", { name: "Users", level: 1 }).isVisible()).resolves.toBe(true);
    await expect(page.getByRole("navigation", { name: "Admin sections" }).getByRole("link", { name: "Users" }).getAttribute("aria-current")).resolves.toBe("page");
    await screenshot(page, "admin-users-desktop");
    await context.close();
  });

  it("shows a signed-in non-admin a clear 403 page on every admin page", async () => {
    const { page, context } = await browser.newPage();
    await signInAs(context, server, "visitor@example.com");
    for (const path of ["/admin", "/admin/users", "/admin/security", "/admin/clients", "/admin/tokens"]) {
      const response = await page.goto(`${server.url}${path}`);
      expect(response?.status(), path).toBe(403);
      await expect(page.getByRole("heading", { name: /Administrators only/ }).isVisible()).resolves.toBe(true);
      await expect(page.getByText("visitor@example.com").isVisible()).resolves.toBe(true);
      // Nothing of the console leaks into the page.
      await expect(page.getByRole("navigation", { name: "Admin sections" }).count()).resolves.toBe(0);
    }
    await screenshot(page, "admin-403-desktop");
    const phone = await browser.newPage({ viewport: PHONE });
    await signInAs(phone.context, server, "visitor@example.com");
    await phone.page.goto(`${server.url}/admin`);
    await screenshot(phone.page, "admin-403-phone");
    await phone.context.close();
    await context.close();
  });
});
