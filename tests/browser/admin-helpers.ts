/**
 * Shared steps of the admin/account browser tests.
 *
 * `launchBrowser` here stands in for tests/helpers/browser.ts's, which passes `--user-data-dir` to
 * `chromium.launch()` (playwright-core refuses that: "Pass userDataDir parameter to launchPersistentContext"). Playwright
 * already gives every `launch()` a fresh temporary profile, so the flag is simply left out.
 */
import { chromium, type BrowserContext, type Page } from "playwright-core";
import type { Services } from "../../server/services.ts";
import { CHROMIUM_PATH, type TestBrowser } from "../helpers/browser.ts";

export async function launchBrowser(): Promise<TestBrowser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
    ],
  });
  return {
    browser,
    async newPage(options = {}) {
      const context = await browser.newContext({ viewport: options.viewport ?? { width: 1280, height: 900 } });
      const page = await context.newPage();
      return { page, context };
    },
    async close() {
      await browser.close().catch(() => {});
    },
  };
}

export const PHONE = { width: 390, height: 844 };

/** Waits until React has hydrated the page (buttons that open dialogs work only after that). */
export async function hydrated(page: Page): Promise<void> {
  await page.waitForFunction(() => (window as unknown as { __remixContext?: unknown }).__remixContext !== undefined);
  await page.waitForLoadState("networkidle");
}

/**
 * Signs a browser context in through the real sign-in service (`services.auth.signIn`, the same call the sign-in
 * page makes) and hands it the session cookie. Used while the sign-in FORM cannot be posted from Chromium: with
 * `Referrer-Policy: no-referrer` Chromium sends `Origin: null` on form POSTs and Remix refuses the action
 * ("host header does not match `origin` header"). Switch back to `devSignIn` once that is fixed.
 */
export async function signInAs(
  context: BrowserContext,
  server: { url: string; services: Services },
  email: string,
): Promise<{ userId: string }> {
  const { user, setCookie } = await server.services.auth.signIn({ email, name: email.split("@")[0], provider: "dev", providerAccountId: email });
  const [pair] = setCookie.split(";");
  const index = pair.indexOf("=");
  await context.addCookies([{ name: pair.slice(0, index), value: pair.slice(index + 1), url: server.url, httpOnly: true, sameSite: "Lax" }]);
  return { userId: user.id };
}
