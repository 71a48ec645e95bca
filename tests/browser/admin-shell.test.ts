import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { devSignIn, screenshot, watchErrors, type TestBrowser } from "../helpers/browser.ts";
import type { TestServer } from "../helpers/server.ts";
import { ADMIN, PHONE, startConsole } from "./admin-helpers.ts";

let server: TestServer;
let browser: TestBrowser;

beforeAll(async () => {
  ({ server, browser } = await startConsole());
});
afterAll(() => browser?.close());

describe("Admin console: who gets in", { timeout: 90_000 }, () => {
  it("sends an anonymous visitor to sign in, and back to the page afterwards", async () => {
    const { page, context } = await browser.newPage();
    await page.goto(`${server.url}/admin/users?role=ADMIN`);
    const url = new URL(page.url());
    expect(url.pathname).toBe("/login");
    expect(url.searchParams.get("returnTo")).toBe("/admin/users?role=ADMIN");
    await page.getByLabel("Email").fill(ADMIN);
    await page.getByRole("button", { name: "Sign in (development)" }).click();
    await page.waitForURL((u) => u.pathname === "/admin/users");
    expect(new URL(page.url()).search).toBe("?role=ADMIN");
    await context.close();
  });

  it("lets an admin in, with private no-store pages and the current section marked", async () => {
    const { page, context } = await browser.newPage();
    const errors = watchErrors(page);
    await devSignIn(page, server.url, ADMIN, "/admin/users");
    const response = await page.goto(`${server.url}/admin/users`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()["cache-control"]).toBe("private, no-store");
    await expect(page.getByRole("heading", { name: "Users", level: 1 }).isVisible()).resolves.toBe(true);
    const nav = page.getByRole("navigation", { name: "Admin sections" });
    await expect(nav.getByRole("link", { name: "Users" }).getAttribute("aria-current")).resolves.toBe("page");
    expect(errors).toEqual([]);
    await context.close();
  });

  it("shows a signed-in non-admin a clear 403 page on every admin page", async () => {
    const { page, context } = await browser.newPage();
    await devSignIn(page, server.url, "visitor@example.com");
    for (const path of ["/admin", "/admin/users", "/admin/security", "/admin/clients", "/admin/tokens", "/admin/doctor"]) {
      const response = await page.goto(`${server.url}${path}`);
      expect(response?.status(), path).toBe(403);
      await expect(page.getByRole("heading", { name: /Administrators only/ }).isVisible()).resolves.toBe(true);
      await expect(page.getByText("visitor@example.com").isVisible()).resolves.toBe(true);
      // Nothing of the console leaks into the page.
      await expect(page.getByRole("navigation", { name: "Admin sections" }).count()).resolves.toBe(0);
    }
    // The API refuses too, whatever the page shows.
    const api = await page.request.get(`${server.url}/api/trpc/users.list?input=${encodeURIComponent("{}")}`);
    expect(api.status()).toBe(403);
    await screenshot(page, "admin-403-desktop");
    await context.close();

    const phone = await browser.newPage({ viewport: PHONE });
    await devSignIn(phone.page, server.url, "visitor@example.com");
    await phone.page.goto(`${server.url}/admin`);
    await screenshot(phone.page, "admin-403-phone");
    await phone.context.close();
  });
});
