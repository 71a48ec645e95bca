/**
 * The consent page in a real browser (Chromium): it looks like the sign-in page, names the client, its redirect
 * host and the scopes, Deny sends access_denied back, and another site cannot frame it (RFC 9700 §4.16,
 * clickjacking: frame-ancestors 'none' + X-Frame-Options DENY).
 */
import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { devSignIn, launchBrowser, screenshot, type TestBrowser } from "../helpers/browser.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { authorizeUrl, pkce, publicClient, register, type RegisteredClient } from "../integration/oauth-support.ts";

let server: TestServer;
let browser: TestBrowser;
let client: RegisteredClient;
const CALLBACK = "https://agent.example/callback";

beforeAll(async () => {
  server = await startTestServer({ RATE_LIMIT_ENABLED: "false", ADMIN_EMAILS: "admin@example.com" });
  browser = await launchBrowser();
  client = await register(server.url, publicClient({ client_name: "Research Agent", redirect_uris: [CALLBACK] }));
});

afterAll(async () => {
  await browser?.close();
});

function consentUrl(extra: Record<string, string> = {}) {
  return authorizeUrl(server.url, {
    response_type: "code",
    client_id: client.client_id,
    redirect_uri: CALLBACK,
    code_challenge: pkce().challenge,
    code_challenge_method: "S256",
    state: "browser-state",
    ...extra,
  });
}

describe("Consent page in Chromium", () => {
  it("shows client, redirect host and scope descriptions; an administrator sees the admin scope", async () => {
    const { page, context } = await browser.newPage();
    await devSignIn(page, server.url, "admin@example.com");
    await page.goto(consentUrl({ scope: "mcp:tools mcp:admin" }));
    await expect(page.getByRole("heading", { name: "Allow Research Agent to use your account?" }).isVisible()).resolves.toBe(true);
    await expect(page.getByTestId("redirect-host").textContent()).resolves.toBe("agent.example");
    const scopes = await page.getByTestId("scopes").textContent();
    expect(scopes).toContain("Use this server's MCP tools on your behalf");
    expect(scopes).toContain("Use the administrator tools");
    await screenshot(page, "oauth-consent-admin");
    await page.setViewportSize({ width: 390, height: 844 });
    await screenshot(page, "oauth-consent-mobile");
    await context.close();
  });

  it("Deny sends error=access_denied with state and iss to the client", async () => {
    const { page, context } = await browser.newPage();
    let callback: URL | undefined;
    await context.route("https://agent.example/**", (route) => {
      callback = new URL(route.request().url());
      return route.fulfill({ status: 200, body: "denied" });
    });
    await devSignIn(page, server.url, "denier@example.com");
    await page.goto(consentUrl());
    await page.getByRole("button", { name: "Deny" }).click();
    await page.waitForURL((u) => u.host === "agent.example");
    await context.close();
    expect(callback?.searchParams.get("error")).toBe("access_denied");
    expect(callback?.searchParams.get("state")).toBe("browser-state");
    expect(callback?.searchParams.get("iss")).toBe(server.env.APP_URL);
  });

  it("another site cannot frame the consent page", async () => {
    const { page, context } = await browser.newPage();
    await devSignIn(page, server.url, "framed@example.com");
    // A real page on another port of the same host: same site, so the session cookie IS sent and the consent page
    // is served; only the browser obeying the headers keeps it out of the frame.
    const evil = http.createServer((_req, res) => {
      res.setHeader("content-type", "text/html");
      res.end(`<html><body><h1>Win a prize</h1><iframe id="victim" src="${consentUrl()}" width="800" height="800"></iframe></body></html>`);
    });
    evil.listen(0, "127.0.0.1");
    await once(evil, "listening");
    const evilUrl = `http://127.0.0.1:${(evil.address() as AddressInfo).port}/`;
    // The consent page itself is served (so what stops it is the browser obeying the headers, not a failed request).
    const served = page.waitForResponse((response) => response.url().startsWith(`${server.url}/oauth/authorize`));
    await page.goto(evilUrl);
    const response = await served;
    expect(response.status()).toBe(200);
    const frameOptions = await response.headerValue("x-frame-options");
    await page.waitForTimeout(500);
    const frame = page.frames().find((f) => f !== page.mainFrame());
    const allowButtons = frame ? await frame.getByRole("button", { name: "Allow" }).count().catch(() => 0) : 0;
    await screenshot(page, "oauth-consent-framing-refused");
    await context.close();
    evil.close();
    expect(frameOptions).toBe("DENY");
    expect(allowButtons).toBe(0);
    expect(frame?.url() ?? "").not.toContain("/oauth/authorize");
  });
});
