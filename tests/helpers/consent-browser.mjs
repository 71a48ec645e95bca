#!/usr/bin/env node
/**
 * A stand-in for the person at the keyboard, run as `$BROWSER <url>` by real MCP clients.
 *
 * MCP clients (mcp-remote, the MCP Inspector, …) open the authorization URL with the `open` package, which on a
 * machine without a desktop runs xdg-open, which runs `$BROWSER <url>`. Pointing BROWSER at this file lets a test
 * run those clients unchanged: headless Chromium (playwright-core) opens the URL, signs in through the development
 * sign-in page when the server asks for it, clicks Allow on the consent page and waits until the browser has
 * reached the client's loopback callback (RFC 8252 §7.3), which is where the client takes the code.
 *
 * Plain JavaScript (no tsx) because it is exec'd by xdg-open. It is started detached with stdio ignored, so it
 * reports through files named by the environment:
 * - CONSENT_EMAIL: who signs in (default person@example.com)
 * - CONSENT_LOG: a file it appends one JSON line per event to (opened URL, signed in, allowed, reached callback,
 *   error); the test reads it to explain a failure
 * - CONSENT_SCREENSHOT: where to save a screenshot of the consent page (optional)
 * - CHROMIUM_PATH: the browser (default /usr/bin/chromium)
 */
import { appendFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";
import { CHROMIUM_ARGS } from "./chromium-args.mjs";

const url = process.argv[2];
const email = process.env.CONSENT_EMAIL || "person@example.com";
const logFile = process.env.CONSENT_LOG;
const screenshotFile = process.env.CONSENT_SCREENSHOT;
const deadline = Date.now() + Number(process.env.CONSENT_TIMEOUT_MS || 30_000);

function log(event, detail = {}) {
  const line = JSON.stringify({ at: new Date().toISOString(), event, ...detail });
  if (logFile) appendFileSync(logFile, `${line}\n`);
  else process.stderr.write(`${line}\n`);
}

/** Query strings of authorization URLs carry state and PKCE challenges, never secrets; codes are dropped anyway. */
function redact(href) {
  const u = new URL(href);
  if (u.searchParams.has("code")) u.searchParams.set("code", "…");
  return u.href;
}

const remaining = () => Math.max(1_000, deadline - Date.now());

async function main() {
  if (!url) throw new Error("usage: consent-browser.mjs <authorization URL>");
  const start = new URL(url);
  log("open", { url: redact(url) });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
    headless: true,
    args: CHROMIUM_ARGS,
  });
  try {
    const page = await browser.newPage();
    await page.goto(url, { timeout: remaining() });
    // Leaving the authorization server's origin means the browser went to the client's callback.
    const atCallback = () => new URL(page.url()).origin !== start.origin;

    if (!atCallback() && new URL(page.url()).pathname === "/login") {
      await page.getByLabel("Email").fill(email);
      await page.getByRole("button", { name: "Sign in (development)" }).click();
      await page.waitForURL((u) => u.pathname !== "/login", { timeout: remaining() });
      log("signed-in", { email });
    }
    if (!atCallback()) {
      // Consent may already be remembered (then the server redirects straight on): wait for either.
      const allow = page.getByRole("button", { name: "Allow" });
      await Promise.race([
        allow.waitFor({ timeout: remaining() }),
        page.waitForURL((u) => u.origin !== start.origin, { timeout: remaining() }),
      ]);
      if (!atCallback()) {
        if (screenshotFile) {
          mkdirSync(path.dirname(screenshotFile), { recursive: true });
          await page.screenshot({ path: screenshotFile, fullPage: true });
        }
        const heading = await page.getByRole("heading").first().textContent().catch(() => null);
        log("consent", { heading });
        await allow.click();
      }
    }
    // "commit": the browser has the callback's response; the client may shut its listener before the page "loads".
    await page.waitForURL((u) => u.origin !== start.origin, { timeout: remaining(), waitUntil: "commit" });
    const body = (await page.textContent("body", { timeout: 2_000 }).catch(() => "")) ?? "";
    log("callback", { url: redact(page.url()), body: body.trim().slice(0, 300) });
  } finally {
    await browser.close().catch(() => {});
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    log("error", { message: error instanceof Error ? error.message : String(error) });
    process.exit(1);
  },
);
