/**
 * Headless Chromium (Debian's /usr/bin/chromium) through playwright-core. Screenshots go to
 * artifacts/screenshots/ (git-ignored) so a person can look at every page a test visited.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { CHROMIUM_ARGS } from "./chromium-args.mjs";

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const SCREENSHOT_DIR = path.resolve("artifacts/screenshots");

export type Viewport = { width: number; height: number };

export interface TestBrowser {
  browser: Browser;
  newPage(options?: { viewport?: Viewport }): Promise<{ page: Page; context: BrowserContext }>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    // No --user-data-dir: playwright refuses it in args and gives every launch a fresh temporary profile itself.
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

/** Saves a full-page screenshot as artifacts/screenshots/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name.replace(/[^a-z0-9._-]+/gi, "-")}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Signs in through the real development sign-in page. */
export async function devSignIn(page: Page, baseUrl: string, email: string, returnTo = "/"): Promise<void> {
  await page.goto(`${baseUrl}/login?returnTo=${encodeURIComponent(returnTo)}`);
  await page.getByLabel("Email").fill(email);
  await page.getByRole("button", { name: "Sign in (development)" }).click();
  await page.waitForURL((url) => !url.pathname.startsWith("/login"));
}

/** Collects uncaught page errors and console errors (a hydration mismatch shows up here). */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) errors.push(message.text());
  });
  return errors;
}

export interface SignedInPage {
  page: Page;
  /** What watchErrors collected on `page`. */
  errors: string[];
  /** Closes the page's context (its cookies go with it). */
  close(): Promise<void>;
}

/** A page in a fresh context, signed in as `email` through the development sign-in and left at `returnTo`, its errors watched. */
export async function signedInPage(browser: TestBrowser, baseUrl: string, email: string, returnTo: string, viewport?: Viewport): Promise<SignedInPage> {
  const { page, context } = await browser.newPage(viewport ? { viewport } : {});
  const errors = watchErrors(page);
  await devSignIn(page, baseUrl, email, returnTo);
  return { page, errors, close: () => context.close() };
}
