/**
 * The console's machine clients and trusted identity providers in Chromium (issue 15): an admin creates a
 * client_credentials client, sees its secret once and the client gets a token with it; a key client (JWK Set) shows no
 * secret; an admin adds, disables and removes an identity provider; the pages fit a phone screen.
 */
import { exportJWK, generateKeyPair } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { screenshot, signedInPage, type TestBrowser, type Viewport } from "../helpers/browser.ts";
import type { TestServer } from "../helpers/server.ts";
import { ADMIN, PHONE, confirmThrough, hydrated, mcpStatus, startConsole } from "./admin-helpers.ts";

let server: TestServer;
let browser: TestBrowser;

beforeAll(async () => {
  ({ server, browser } = await startConsole());
});
afterAll(() => browser?.close());

const adminPage = (viewport?: Viewport) => signedInPage(browser, server.url, ADMIN, "/admin", viewport);

describe("Machine clients and identity providers in the console", { timeout: 120_000 }, () => {
  it("creates a client_credentials client, shows its secret once, and the client gets a token with it", async () => {
    const { page, errors, close } = await adminPage();
    await page.goto(`${server.url}/admin/clients`);
    await hydrated(page);
    await page.getByRole("button", { name: "New machine client" }).click();
    const dialog = page.getByRole("dialog", { name: "New machine client" });
    await dialog.getByLabel("Name").fill("Nightly CI");
    await screenshot(page, "admin-machine-client-dialog");
    await dialog.getByRole("button", { name: "Create machine client" }).click();
    const created = page.getByRole("dialog", { name: "Client created" });
    const clientId = await created.getByRole("textbox", { name: "Client ID" }).inputValue();
    const secret = await created.getByRole("textbox", { name: "Client secret" }).inputValue();
    expect(secret).toMatch(/^mcpcs_/);
    await created.getByRole("button", { name: "Done" }).click();
    await page.getByRole("row").filter({ hasText: "Nightly CI" }).waitFor();

    const res = await fetch(`${server.url}/api/oauth/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: "Basic " + Buffer.from(`${clientId}:${secret}`).toString("base64") },
      body: new URLSearchParams({ grant_type: "client_credentials" }),
    });
    const tokens = (await res.json()) as { access_token: string; scope: string };
    expect(res.status).toBe(200);
    expect(tokens.scope).toBe("mcp:tools");
    expect(await mcpStatus(server.url, tokens.access_token)).toBe(200);

    // Its page shows the grant as the client's own.
    const row = await server.services.prisma.client.findUniqueOrThrow({ where: { clientId } });
    await page.goto(`${server.url}/admin/clients/${row.id}`);
    await page.getByRole("heading", { name: "Nightly CI", level: 1 }).waitFor();
    await page.getByText("the client itself").first().waitFor();
    await screenshot(page, "admin-machine-client-detail");
    expect(errors).toEqual([]);
    await close();
  });

  it("creates a private_key_jwt client from a JWK Set: no secret", async () => {
    const { publicKey } = await generateKeyPair("ES256");
    const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: "1" }] });
    const { page, errors, close } = await adminPage();
    await page.goto(`${server.url}/admin/clients`);
    await hydrated(page);
    await page.getByRole("button", { name: "New machine client" }).click();
    const dialog = page.getByRole("dialog", { name: "New machine client" });
    await dialog.getByLabel("Name").fill("Signing agent");
    await dialog.getByRole("radio", { name: /Private key JWT/ }).check();
    await dialog.getByRole("radio", { name: "JWK Set" }).check();
    await dialog.getByRole("textbox", { name: /JWK Set/ }).fill(jwks);
    await dialog.getByRole("button", { name: "Create machine client" }).click();
    const created = page.getByRole("dialog", { name: "Client created" });
    await created.getByText(/private_key_jwt\): there is no secret/).waitFor();
    await created.getByRole("button", { name: "Done" }).click();
    const row = await server.services.prisma.client.findFirstOrThrow({ where: { name: "Signing agent" } });
    expect(row).toMatchObject({ tokenEndpointAuthMethod: "private_key_jwt", clientSecretHash: null });
    expect(errors).toEqual([]);
    await close();
  });

  it("adds, disables and removes a trusted identity provider; the page fits a phone", async () => {
    const { page, errors, close } = await adminPage();
    await page.goto(`${server.url}/admin/identity-providers`);
    await page.getByRole("heading", { name: "Identity providers", level: 1 }).waitFor();
    await hydrated(page);
    await page.getByRole("button", { name: "Add identity provider" }).click();
    const dialog = page.getByRole("dialog", { name: "Add identity provider" });
    await dialog.getByLabel(/Issuer/).fill("https://login.corp.example");
    await dialog.getByRole("textbox", { name: "JWKS URI" }).fill("http://login.corp.example/keys");
    await dialog.getByRole("button", { name: "Add" }).click();
    await expect(dialog.getByRole("alert").textContent()).resolves.toMatch(/https/);
    await dialog.getByRole("textbox", { name: "JWKS URI" }).fill("https://login.corp.example/keys");
    await dialog.getByRole("button", { name: "Add" }).click();
    const row = page.getByRole("row").filter({ hasText: "https://login.corp.example" });
    await row.waitFor();
    await screenshot(page, "admin-identity-providers");
    await row.getByRole("button", { name: "Disable" }).click();
    await row.getByRole("button", { name: "Enable" }).waitFor();
    expect((await server.services.prisma.identityProvider.findUniqueOrThrow({ where: { issuer: "https://login.corp.example" } })).disabled).toBe(true);

    const phone = await adminPage(PHONE);
    await phone.page.goto(`${server.url}/admin/identity-providers`);
    await phone.page.getByRole("heading", { name: "Identity providers", level: 1 }).waitFor();
    await hydrated(phone.page);
    await screenshot(phone.page, "admin-identity-providers-phone");
    expect(await phone.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBeLessThanOrEqual(0);
    await phone.close();

    await confirmThrough(page, row.getByRole("button", { name: "Remove https://login.corp.example" }), "Remove");
    await page.getByText("No trusted identity providers.").waitFor();
    expect(await server.services.prisma.identityProvider.count()).toBe(0);
    expect(errors).toEqual([]);
    await close();
  });
});
