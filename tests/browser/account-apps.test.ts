/**
 * /account in Chromium: a person sees the apps they connected (through the real consent page) and revokes one;
 * its access token is refused by /mcp/mcp at once (RFC 7009 §2) and the app must ask for consent again.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { devSignIn, screenshot, watchErrors, type TestBrowser } from "../helpers/browser.ts";
import type { TestServer } from "../helpers/server.ts";
import { PHONE, confirmThrough, connectThroughConsent, hydrated, mcpStatus, registerClient, startConsole } from "./admin-helpers.ts";

let server: TestServer;
let browser: TestBrowser;

beforeAll(async () => {
  ({ server, browser } = await startConsole());
});
afterAll(() => browser?.close());

describe("Connected apps on /account", { timeout: 90_000 }, () => {
  it("sends an anonymous visitor to sign in", async () => {
    const { page, context } = await browser.newPage();
    await page.goto(`${server.url}/account`);
    expect(new URL(page.url()).pathname).toBe("/login");
    expect(new URL(page.url()).searchParams.get("returnTo")).toBe("/account");
    await context.close();
  });

  it("shows an empty state before anything is connected", async () => {
    const { page, context } = await browser.newPage();
    await devSignIn(page, server.url, "nobody-yet@example.com", "/account");
    await page.getByText("No connected apps.").waitFor();
    await screenshot(page, "account-empty-desktop");
    await context.close();
  });

  it("a person revokes a connected app: its token is refused and the app must ask again", async () => {
    const notes = await registerClient(server.url, "Notes MCP");
    const calendar = await registerClient(server.url, "Calendar MCP");
    const { page, context } = await browser.newPage();
    const errors = watchErrors(page);
    await devSignIn(page, server.url, "dana@example.com");
    const notesTokens = await connectThroughConsent(page, server.url, notes);
    const calendarTokens = await connectThroughConsent(page, server.url, calendar);
    expect(await mcpStatus(server.url, notesTokens.access_token)).toBe(200);

    const response = await page.goto(`${server.url}/account`);
    expect(response?.headers()["cache-control"]).toBe("private, no-store");
    const apps = page.getByRole("list", { name: "Connected apps" });
    await apps.getByText("Notes MCP").waitFor();
    await apps.getByText("Calendar MCP").waitFor();
    await hydrated(page);
    await screenshot(page, "account-apps-desktop");

    await confirmThrough(page, page.getByRole("button", { name: "Revoke Notes MCP" }), "Revoke access");
    await page.getByTestId("toast").filter({ hasText: "Access revoked" }).waitFor();
    await apps.getByText("Notes MCP").waitFor({ state: "detached" });
    await expect(apps.getByText("Calendar MCP").isVisible()).resolves.toBe(true);
    await screenshot(page, "account-after-revoke-desktop");

    expect(await mcpStatus(server.url, notesTokens.access_token)).toBe(401);
    expect(await mcpStatus(server.url, calendarTokens.access_token)).toBe(200);

    // The remembered consent went with it: the consent page shows again.
    await page.goto(`${server.url}/oauth/authorize?${new URLSearchParams({
      response_type: "code",
      client_id: notes.client_id,
      redirect_uri: "http://127.0.0.1:8977/callback",
      code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
      code_challenge_method: "S256",
      scope: "mcp:tools",
    })}`);
    await page.getByRole("button", { name: "Allow" }).waitFor();
    expect(errors).toEqual([]);
    await context.close();
  });

  it("works at phone width, and from the keyboard", async () => {
    const app = await registerClient(server.url, "Phone MCP");
    const { page, context } = await browser.newPage({ viewport: PHONE });
    await devSignIn(page, server.url, "erik@example.com");
    const tokens = await connectThroughConsent(page, server.url, app);
    await page.goto(`${server.url}/account`);
    await hydrated(page);
    await screenshot(page, "account-apps-phone");
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);

    await page.getByRole("button", { name: "Revoke Phone MCP" }).focus();
    await page.keyboard.press("Enter");
    const dialog = page.getByRole("dialog", { name: "Revoke access for Phone MCP?" });
    await dialog.waitFor();
    await screenshot(page, "account-confirm-dialog-phone");
    // Focus starts on Cancel; Tab moves to the confirm button; Enter confirms.
    await expect(page.evaluate(() => document.activeElement?.textContent)).resolves.toBe("Cancel");
    await page.keyboard.press("Tab");
    await expect(page.evaluate(() => document.activeElement?.textContent)).resolves.toBe("Revoke access");
    await page.keyboard.press("Enter");
    await page.getByText("No connected apps.").waitFor();
    expect(await mcpStatus(server.url, tokens.access_token)).toBe(401);
    await context.close();
  });
});
