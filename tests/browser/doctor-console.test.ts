/**
 * The connection doctor in the admin console, in Chromium (issue 17): each common cause of "my client can't
 * connect" is provoked against the real server, then an admin sees it on the dashboard's failed connections,
 * grouped by cause, opens the client's doctor page (or looks the caller up by address or client_id) and reads the
 * cause and the fix — the same text as the CLI's (server/doctor/causes.ts) — with the step that failed linked to
 * the security event behind it. No token appears on any page.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CAUSES, type CauseId } from "../../server/doctor/causes.ts";
import { devSignIn, launchBrowser, screenshot, signedInPage, type TestBrowser, type Viewport } from "../helpers/browser.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { DOCTOR_ADMIN, provoke, recorded, type StandInClient } from "../integration/doctor-support.ts";
import { PHONE } from "./admin-helpers.ts";

let server: TestServer;
let browser: TestBrowser;
const tokens: string[] = [];
const clients: Partial<Record<CauseId, StandInClient>> = {};

beforeAll(async () => {
  server = await startTestServer({ TRUST_PROXY: "true", AUTH_DEV_LOGIN: "true", ADMIN_EMAILS: DOCTOR_ADMIN, RATE_LIMIT_MCP_PER_IP: "4" });
  browser = await launchBrowser();
  clients.resource_mismatch = (await provoke.resourceMismatch(server)).client;
  await provoke.proxyStripsChallenge(server, "198.51.100.7");
  for (const [cause, run] of [
    ["wrong_audience", provoke.wrongAudience],
    ["origin_refused", provoke.originRefused],
    ["rate_limited", provoke.rateLimited],
  ] as const) {
    const result = await run(server);
    clients[cause] = result.client;
    tokens.push(...result.tokens);
  }
  clients.redirect_uri_unregistered = (await provoke.unregisteredRedirect(server)).client;
  const replay = await provoke.refreshReplayed(server, "192.0.2.99");
  clients.refresh_replayed = replay.client;
  tokens.push(...replay.tokens);
  await provoke.unknownClient(server, "mcpc_forgotten_registration");
  await recorded(server);
}, 120_000);
afterAll(() => browser?.close());

const adminPage = (viewport?: Viewport) => signedInPage(browser, server.url, DOCTOR_ADMIN, "/admin", viewport);

async function expectNoTokens(page: Page): Promise<void> {
  const html = await page.content();
  for (const token of tokens) expect(html).not.toContain(token);
}

/** The cause's card on a doctor page shows the catalogue's cause and fix. */
async function expectCause(page: Page, cause: CauseId): Promise<ReturnType<Page["locator"]>> {
  const card = page.locator(`[data-cause="${cause}"]`).first();
  await card.waitFor();
  const text = await card.innerText();
  expect(text).toContain(CAUSES[cause].cause);
  expect(text).toContain(CAUSES[cause].fix);
  return card;
}

describe("Connection doctor in the console", { timeout: 90_000 }, () => {
  it("the dashboard lists the clients that failed, grouped by cause, each linked to its doctor page", async () => {
    const { page, errors, close } = await adminPage();
    await page.goto(`${server.url}/admin?range=1h`);
    const section = page.getByRole("region", { name: "Failed connections" });
    await section.waitFor();
    for (const cause of ["discovery_not_reached", "resource_mismatch", "wrong_audience", "redirect_uri_unregistered", "origin_refused", "rate_limited", "refresh_replayed", "unknown_client"] as const) {
      await expect(section.locator(`[data-cause="${cause}"]`).innerText()).resolves.toContain(CAUSES[cause].fix);
    }
    await screenshot(page, "doctor-dashboard");
    await section.locator('[data-cause="wrong_audience"]').getByRole("link", { name: "Doctor sse-token" }).click();
    await page.waitForURL(/\/admin\/clients\/[^/]+\/doctor/);
    await page.getByRole("heading", { level: 1, name: "Connection doctor: Doctor sse-token" }).waitFor();
    expect(errors).toEqual([]);
    await close();
  });

  it.each([
    ["resource_mismatch", /The resource asked for: http:\/\/localhost:\d+\/mcp\/mcp/],
    ["wrong_audience", /The token was issued for http:\/\/127\.0\.0\.1:\d+\/mcp\/sse\./],
    ["redirect_uri_unregistered", /The redirect_uri asked for: http:\/\/app\.example\/elsewhere/],
    ["origin_refused", /ALLOWED_ORIGINS=https:\/\/app\.example/],
    ["rate_limited", /Setting: RATE_LIMIT_MCP_PER_IP/],
    ["refresh_replayed", /from 2 addresses/],
  ] as const)("a client's doctor page names %s with its fix and facts, the failing step linked to its security event", async (cause, fact) => {
    const { page, errors, close } = await adminPage();
    const row = await server.services.prisma.client.findUniqueOrThrow({ where: { clientId: clients[cause]!.clientId } });
    await page.goto(`${server.url}/admin/clients/${row.id}/doctor?window=1h`);
    const card = await expectCause(page, cause);
    expect(await card.innerText()).toMatch(fact);
    const failed = page.locator('li[data-status="failed"]').first();
    const link = failed.getByRole("link", { name: /Security event:/ });
    await expect(link.count()).resolves.toBeGreaterThan(0);
    await screenshot(page, `doctor-client-${cause}`);
    await expectNoTokens(page);
    // The link opens that one event on the security page.
    await link.first().click();
    await page.waitForURL(/\/admin\/security\?id=/);
    await expect.poll(() => page.getByRole("row").count()).toBe(2);
    expect(errors).toEqual([]);
    await close();
  });

  it("by address: a proxy that strips the challenge, for a caller that never got a client", async () => {
    const { page, errors, close } = await adminPage();
    await page.goto(`${server.url}/admin/doctor`);
    await page.getByLabel("IP address").fill("198.51.100.7");
    await page.getByRole("button", { name: "Diagnose" }).click();
    await page.waitForURL(/ip=198\.51\.100\.7/);
    await expectCause(page, "discovery_not_reached");
    await expect(page.locator('li[data-step="mcp_challenge"]').first().innerText()).resolves.toContain("401");
    await screenshot(page, "doctor-address");
    expect(errors).toEqual([]);
    await close();
  });

  it("by client_id: an unregistered client_id, and a registered one goes to its client's page", async () => {
    const { page, errors, close } = await adminPage(PHONE);
    await page.goto(`${server.url}/admin/doctor?clientId=mcpc_forgotten_registration`);
    const card = await expectCause(page, "unknown_client");
    expect(await card.innerText()).toContain("client_id presented: mcpc_forgotten_registration");
    await screenshot(page, "doctor-unknown-client-phone");
    await page.goto(`${server.url}/admin/doctor?clientId=${encodeURIComponent(clients.wrong_audience!.clientId)}`);
    await page.waitForURL(/\/admin\/clients\/[^/]+\/doctor/);
    await expectCause(page, "wrong_audience");
    expect(errors).toEqual([]);
    await close();
  });

  it("is for admins only", async () => {
    const { page, context } = await browser.newPage();
    await devSignIn(page, server.url, "visitor@example.com");
    const row = await server.services.prisma.client.findUniqueOrThrow({ where: { clientId: clients.wrong_audience!.clientId } });
    for (const path of ["/admin/doctor", `/admin/doctor?ip=198.51.100.7`, `/admin/clients/${row.id}/doctor`]) {
      const response = await page.goto(`${server.url}${path}`);
      expect(response?.status(), path).toBe(403);
    }
    await context.close();
  });
});
