/**
 * Running real MCP clients (mcp-remote, the MCP Inspector, the conformance runner) as child processes, the way a
 * person would: each gets nothing but our URL, a temporary HOME (so no token cache lands in ~), and BROWSER pointing
 * at tests/helpers/consent-browser.mjs, which plays the person in Chromium (sign in, click Allow).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, chmodSync, constants, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll } from "vitest";
import { CHROMIUM_PATH, SCREENSHOT_DIR } from "./browser.ts";

export const CONSENT_DRIVER = path.resolve("tests/helpers/consent-browser.mjs");

/** Entry script of an installed package's bin, run with an explicit Node (no shebang, no PATH lookup). */
export function packageBin(pkg: string, bin: string, root = "."): string {
  const dir = path.resolve(root, "node_modules", pkg);
  const manifest = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as { bin?: Record<string, string> | string };
  const entry = typeof manifest.bin === "string" ? manifest.bin : manifest.bin?.[bin];
  if (!entry) throw new Error(`${pkg} has no bin ${bin}`);
  return path.join(dir, entry);
}

/** Why a real-client test cannot run here, or undefined. Only what is truly absent counts. */
export function missingForRealClients(extra: Array<{ file: string; hint: string; executable?: boolean }> = []): string | undefined {
  const needs = [{ file: CHROMIUM_PATH, hint: "apt-get install chromium (npm test does it)", executable: true }, ...extra];
  for (const need of needs) {
    try {
      accessSync(need.file, need.executable === false ? constants.R_OK : constants.X_OK);
    } catch {
      return `${need.file} is missing: ${need.hint}`;
    }
  }
  return undefined;
}

export interface ConsentEvent {
  at: string;
  event: "open" | "signed-in" | "consent" | "callback" | "error";
  url?: string;
  email?: string;
  heading?: string | null;
  body?: string;
  message?: string;
}

export interface ClientSandbox {
  dir: string;
  /** Environment for the client: ours minus test-runner and desktop variables, plus HOME/BROWSER/CONSENT_*. */
  env: Record<string, string | undefined>;
  /** What the stand-in person did, one entry per step. */
  consentEvents(): ConsentEvent[];
  /**
   * The same, once the person is done (last step `callback` or `error`), waiting up to `timeoutMs`: the client may
   * finish with the code before the browser driver has written its last line.
   */
  personFinished(timeoutMs?: number): Promise<ConsentEvent[]>;
}

const sandboxes: string[] = [];
afterAll(() => {
  for (const dir of sandboxes.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/**
 * A temporary HOME and a BROWSER for one client. BROWSER is a tiny shell script in the sandbox (xdg-open splits
 * $BROWSER on ':' and spaces, so the repo's own path, wherever CI clones it, is never put there) that runs the
 * driver with this very Node.
 */
export function clientSandbox(name: string, email: string): ClientSandbox {
  const dir = mkdtempSync(path.join(tmpdir(), `real-client-${name}-`));
  sandboxes.push(dir);
  const home = path.join(dir, "home");
  mkdirSync(home);
  const browser = path.join(dir, "browser");
  writeFileSync(browser, `#!/bin/sh\nexec '${process.execPath}' '${CONSENT_DRIVER}' "$@"\n`);
  chmodSync(browser, 0o755);
  const consentLog = path.join(dir, "consent.log");

  const env: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(process.env)) {
    // The Inspector turns its browser opening off under VITEST; a desktop session would make xdg-open try
    // desktop handlers before $BROWSER; NODE_OPTIONS from a runner would load its hooks into the client.
    if (/^(VITEST|TEST_|NODE_OPTIONS$|DISPLAY$|WAYLAND_DISPLAY$|DBUS_SESSION_BUS_ADDRESS$|XDG_|DESKTOP_SESSION$|KDE_|GNOME_)/.test(key)) continue;
    env[key] = value;
  }
  Object.assign(env, {
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, ".config"),
    XDG_CACHE_HOME: path.join(home, ".cache"),
    BROWSER: browser,
    CONSENT_EMAIL: email,
    CONSENT_LOG: consentLog,
    CONSENT_SCREENSHOT: path.join(SCREENSHOT_DIR, `real-client-${name}-consent.png`),
    CHROMIUM_PATH,
    NO_COLOR: "1",
  });
  const consentEvents = (): ConsentEvent[] =>
    existsSync(consentLog)
      ? readFileSync(consentLog, "utf8")
          .split("\n")
          .filter(Boolean)
          .map((line) => JSON.parse(line) as ConsentEvent)
      : [];
  return {
    dir,
    env,
    consentEvents,
    async personFinished(timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const events = consentEvents();
        const last = events.at(-1)?.event;
        if (last === "callback" || last === "error" || Date.now() > deadline) return events;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
  };
}

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * Runs a command to its end (bounded: killed with its process group after `timeoutMs`). `keepStdinOpen` for
 * mcp-remote-client, which quits as soon as its stdin closes; otherwise stdin is /dev/null, as in CI.
 * `onStdout` sees output as it arrives (the conformance runner prints the URL to open and then waits).
 */
export function run(
  command: string,
  args: string[],
  options: { env: Record<string, string | undefined>; cwd?: string; timeoutMs: number; keepStdinOpen?: boolean; onStdout?: (all: string) => void },
): Promise<Finished> {
  const started = Date.now();
  const child: ChildProcess = spawn(command, args, {
    env: options.env as NodeJS.ProcessEnv,
    cwd: options.cwd,
    stdio: [options.keepStdinOpen ? "pipe" : "ignore", "pipe", "pipe"],
    detached: true,
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
    options.onStdout?.(stdout);
  });
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      // already gone
    }
  }, options.timeoutMs);
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      child.stdin?.destroy();
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** A failure message that shows what the client and the stand-in person saw. */
export function explain(result: Finished, sandbox: ClientSandbox): string {
  const tail = (text: string) => text.slice(-4_000);
  return [
    `exit ${result.code ?? result.signal} after ${result.ms} ms`,
    `--- stdout\n${tail(result.stdout)}`,
    `--- stderr\n${tail(result.stderr)}`,
    `--- person\n${sandbox
      .consentEvents()
      .map((e) => JSON.stringify(e))
      .join("\n")}`,
  ].join("\n");
}
