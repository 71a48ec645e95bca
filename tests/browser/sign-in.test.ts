import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, screenshot, type TestBrowser } from "../helpers/browser.ts";
import { startFakeGoogle, type FakeGoogle } from "../helpers/fake-google.ts";
import { startTestServer } from "../helpers/server.ts";

let browser: TestBrowser;
let google: FakeGoogle;

beforeAll(async () => {
  browser = await launchBrowser();
  google = await startFakeGoogle({ profile: { email: "browser-google@example.com", name: "Browser Person" } });
});
afterAll(async () => {
  await browser?.close();
  await google?.close();
});

describe("signing in through the real /login page in Chromium", () => {
  it("development sign-in: sign in, see who is signed in, sign out", async () => {
    const server = await startTestServer({ ADMIN_EMAILS: "admin@example.com" });
    const { page, context } = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    page.on("console", (message) => {
      // Failed loads are checked by URL below (there is no favicon, and the browser always asks for one).
      if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) errors.push(message.text());
    });
    page.on("response", (response) => {
      if (response.status() >= 400 && new URL(response.url()).pathname !== "/favicon.ico") {
        errors.push(`${response.status()} ${response.url()}`);
      }
    });
    try {
      await page.goto(`${server.url}/login`);
      await expect(page.getByRole("heading", { name: "Sign in" }).isVisible()).resolves.toBe(true);
      await screenshot(page, "sign-in-01-login-page");

      await page.getByLabel("Email").fill("admin@example.com");
      await page.getByRole("button", { name: "Sign in (development)" }).click();
      await page.waitForURL(`${server.url}/`);
      await expect(page.getByTestId("signed-in-email").textContent()).resolves.toBe("admin@example.com");
      await expect(page.getByText("admin", { exact: true }).isVisible()).resolves.toBe(true);
      await screenshot(page, "sign-in-02-signed-in-home");

      // The session cookie is invisible to page scripts.
      expect(await page.evaluate(() => document.cookie)).not.toContain("__session");
      const cookie = (await context.cookies()).find((c) => c.name === "__session")!;
      expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Lax", secure: false });

      await page.getByRole("button", { name: "Sign out" }).click();
      await page.waitForURL(`${server.url}/login`);
      await screenshot(page, "sign-in-03-signed-out");
      await page.goto(`${server.url}/`);
      await expect(page.getByTestId("signed-in-email").count()).resolves.toBe(0);
      await expect(page.getByRole("link", { name: "Sign in" }).isVisible()).resolves.toBe(true);
      expect(await server.services.prisma.session.count()).toBe(0);
      // Hydration ran without CSP violations or script errors.
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it("a protected page sends you to sign in and brings you back afterwards", async () => {
    const server = await startTestServer();
    const { page, context } = await browser.newPage();
    try {
      await page.goto(`${server.url}/logout`);
      await page.waitForURL(`${server.url}/login`);
      await page.goto(`${server.url}/login?returnTo=${encodeURIComponent("/logout")}`);
      await page.getByLabel("Email").fill("back@example.com");
      await page.getByRole("button", { name: "Sign in (development)" }).click();
      await page.waitForURL(`${server.url}/logout`);
      await expect(page.getByRole("button", { name: "Sign out" }).isVisible()).resolves.toBe(true);
      await screenshot(page, "sign-in-04-returned-to-page");
    } finally {
      await context.close();
    }
  });

  it("Sign in with Google (fake provider): round trip, signed in, and a clear message when consent is denied", async () => {
    const server = await startTestServer({ ...google.env });
    const { page, context } = await browser.newPage();
    try {
      await page.goto(`${server.url}/login`);
      await screenshot(page, "sign-in-05-google-login-page");
      await page.getByRole("button", { name: "Sign in with Google" }).click();
      await page.waitForURL(`${server.url}/`);
      await expect(page.getByTestId("signed-in-email").textContent()).resolves.toBe("browser-google@example.com");
      await screenshot(page, "sign-in-06-google-signed-in");
      await page.getByRole("button", { name: "Sign out" }).click();
      await page.waitForURL(`${server.url}/login`);

      google.next = "deny";
      await page.getByRole("button", { name: "Sign in with Google" }).click();
      await page.waitForURL((url) => url.pathname === "/login" && url.searchParams.get("error") === "google_access_denied");
      await expect(page.getByRole("alert").textContent()).resolves.toBe("Google sign-in was cancelled.");
      await screenshot(page, "sign-in-07-google-denied");
    } finally {
      google.next = "approve";
      await context.close();
    }
  });
});
