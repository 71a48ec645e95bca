import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { freePort } from "../../server/db/embedded.ts";
import { createTestDatabase } from "../helpers/database.ts";
import { HttpSession } from "../helpers/http-session.ts";

interface Started {
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout: () => string;
  stderr: () => string;
  kill(signal: NodeJS.Signals): void;
}

/** `npm start` as a user runs it: `node scripts/start.js`, with exactly the given variables (no .env leaks in). */
function start(vars: Record<string, string>): Started {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? "/tmp",
    // Set (empty) so a developer's .env cannot fill them in: dotenv never overrides a variable that exists.
    AUTH_SECRET: "",
    SESSION_SECRET: "",
    DATABASE_URL: "",
    ADMIN_EMAILS: "",
    AUTH_DEV_LOGIN: "",
    GOOGLE_CLIENT_ID: "",
    GOOGLE_CLIENT_SECRET: "",
    APP_URL: "",
    ...vars,
  };
  const child = spawn(process.execPath, ["scripts/start.js"], { env: env as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  return { exit, stdout: () => stdout, stderr: () => stderr, kill: (signal) => child.kill(signal) };
}

async function waitFor(check: () => boolean, ms: number, what: string) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("configuration errors stop the process with one readable message (no stack trace)", () => {
  it.each([
    [{ NODE_ENV: "production" }, ["AUTH_SECRET: is required when NODE_ENV=production"]],
    [{ NODE_ENV: "production", AUTH_SECRET: "too-short" }, ["AUTH_SECRET: must be at least 32 characters"]],
    [{ NODE_ENV: "production", SESSION_SECRET: "too-short" }, ["AUTH_SECRET (from SESSION_SECRET): must be at least 32 characters"]],
    [
      { NODE_ENV: "production", PORT: "eighty", DATABASE_URL: "mysql://db", AUTH_DEV_LOGIN: "perhaps" },
      ["PORT: must be a number", "DATABASE_URL: must be a postgresql:// URL", "AUTH_DEV_LOGIN: must be true or false", "AUTH_SECRET: is required"],
    ],
  ])("%j", async (vars, expected) => {
    const proc = start(vars);
    const { code } = await proc.exit;
    expect(code).toBe(1);
    const message = proc.stderr();
    expect(message.startsWith("Invalid configuration:\n")).toBe(true);
    for (const line of expected) expect(message).toContain(`  - ${line}`);
    expect(message.match(/^ {2}- /gm)).toHaveLength(expected.length);
    expect(message).not.toMatch(/^\s+at /m);
    expect(message).not.toMatch(/Error:/);
    expect(proc.stdout()).toBe("");
  });
});

describe("npm start in production (the issue's scenario)", () => {
  it("DATABASE_URL + NODE_ENV=production + AUTH_SECRET + APP_URL + ADMIN_EMAILS + AUTH_DEV_LOGIN=true: admin session; SIGTERM exits cleanly", async () => {
    const database = await createTestDatabase();
    const port = await freePort();
    const proc = start({
      NODE_ENV: "production",
      DATABASE_URL: database.url,
      AUTH_SECRET: "a".repeat(40),
      APP_URL: `http://127.0.0.1:${port}`,
      PORT: String(port),
      HOST: "127.0.0.1",
      ADMIN_EMAILS: "admin@example.com",
      AUTH_DEV_LOGIN: "true",
      LOG_LEVEL: "info",
    });
    try {
      await waitFor(() => proc.stdout().includes('"msg":"server listening"'), 20_000, "server listening");
      const lines = proc.stdout().trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.find((l) => l.level === "warn" && String(l.msg).includes("AUTH_DEV_LOGIN=true"))).toBeDefined();

      const browser = new HttpSession(`http://127.0.0.1:${port}`);
      const res = await browser.devSignIn("admin@example.com", "/");
      expect(res.status).toBe(302);
      const home = await (await browser.fetch("/")).text();
      expect(home).toContain("admin@example.com");
      expect(home).toMatch(/>admin</);
      const someone = new HttpSession(`http://127.0.0.1:${port}`);
      await someone.devSignIn("someone@example.com");
      expect(await (await someone.fetch("/")).text()).not.toMatch(/>admin</);

      proc.kill("SIGTERM");
      const { code } = await proc.exit;
      expect(code).toBe(0);
      expect(proc.stdout()).toContain('"msg":"shutdown complete"');
      // Logs never carry the session cookie or the secret.
      expect(proc.stdout()).not.toContain(browser.cookies.get("__session")!.value);
      expect(proc.stdout()).not.toContain("a".repeat(40));
      expect(proc.stderr()).toBe("");
    } finally {
      proc.kill("SIGKILL");
      await database.drop();
    }
  });
});
