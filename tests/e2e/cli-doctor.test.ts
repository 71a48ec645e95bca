/**
 * `mcp-oauth-server doctor <url>` (the bin, as an operator runs it) against our server: every step passes when the
 * deployment is right, and each common cause of "my client can't connect", broken on purpose, is named with its fix:
 * a misconfigured APP_URL, a proxy that drops WWW-Authenticate, a token for another audience, an unregistered
 * redirect URI, an Origin refusal, a rate limit. The interactive run signs in through Chromium (the stand-in person of
 * tests/helpers/consent-browser.mjs, reached through $BROWSER as a person's desktop would).
 */
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { startChallengeStrippingProxy } from "../helpers/challenge-stripping-proxy.ts";
import { clientSandbox, missingForRealClients, run } from "../helpers/consent-browser.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { mintAccessToken } from "../helpers/tokens.ts";
import { publicClient, register } from "../integration/oauth-support.ts";

const BIN = path.resolve("bin/mcp-oauth-server.js");

interface DoctorJson {
  ok: boolean;
  steps: Array<{ id: string; status: string; cause?: string; detail?: string; causeText?: string; fix?: string }>;
}

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ RATE_LIMIT_ENABLED: "false", AUTH_DEV_LOGIN: "true" });
});

async function doctor(args: string[], env: Record<string, string | undefined> = process.env): Promise<{ code: number | null; report: DoctorJson; stderr: string }> {
  const result = await run(process.execPath, [BIN, "doctor", ...args, "--json"], { env, timeoutMs: 60_000 });
  let report: DoctorJson;
  try {
    report = JSON.parse(result.stdout) as DoctorJson;
  } catch {
    throw new Error(`doctor printed no JSON (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
  }
  return { code: result.code, report, stderr: result.stderr };
}

const failed = (report: DoctorJson) => report.steps.filter((s) => s.status === "fail").map((s) => [s.id, s.cause]);
const passed = (report: DoctorJson) => report.steps.filter((s) => s.status === "pass").map((s) => s.id);

describe("mcp-oauth-server doctor: a healthy deployment", () => {
  it("passes discovery: 401 challenge, both metadata documents, PKCE, iss, registration (exit 0)", async () => {
    const { code, report } = await doctor([`${server.url}/mcp/mcp`]);
    expect(failed(report)).toEqual([]);
    expect(passed(report)).toEqual(["challenge", "prm-resource", "as-issuer", "as-pkce", "as-iss", "as-registration"]);
    expect(code).toBe(0);
  });

  it("with a token: server/discover (2026-07-28), tools/list and tools/call pass", async () => {
    const minted = await mintAccessToken(server.services.prisma, server.env.APP_URL);
    const { code, report } = await doctor([`${server.url}/mcp/mcp`, "--token", minted.token]);
    expect(failed(report)).toEqual([]);
    expect(passed(report)).toEqual(expect.arrayContaining(["mcp-discover", "mcp-tools-list", "mcp-tools-call"]));
    expect(code).toBe(0);
  });

  it.skipIf(missingForRealClients())("--interactive: registers, signs in through the browser, exchanges the code and calls a tool", { timeout: 90_000 }, async () => {
    const sandbox = clientSandbox("doctor", "doctor-person@example.com");
    const { code, report, stderr } = await doctor([`${server.url}/mcp/mcp`, "--interactive", "--timeout", "60"], sandbox.env);
    expect(failed(report), stderr).toEqual([]);
    expect(passed(report)).toEqual(expect.arrayContaining(["register", "authorize", "callback", "token", "mcp-discover", "mcp-tools-list", "mcp-tools-call"]));
    expect(code).toBe(0);
    expect((await sandbox.personFinished()).map((e) => e.event)).toEqual(["open", "signed-in", "consent", "callback"]);
  });
});

describe("mcp-oauth-server doctor names the cause", () => {
  it("APP_URL differs from the address clients use: resource_mismatch, with the fix (exit 1)", async () => {
    // The server publishes 127.0.0.1 (its APP_URL); the client calls it as localhost.
    const { code, report } = await doctor([`${server.url.replace("127.0.0.1", "localhost")}/mcp/mcp`]);
    expect(failed(report)).toEqual([["prm-resource", "resource_mismatch"]]);
    const step = report.steps.find((s) => s.id === "prm-resource")!;
    expect(step.fix).toMatch(/APP_URL/);
    expect(code).toBe(1);
  });

  it("a proxy in front that drops WWW-Authenticate: challenge_stripped", async () => {
    const proxy = await startChallengeStrippingProxy(server.url);
    try {
      const { report } = await doctor([`${proxy.url}/mcp/mcp`]);
      expect(failed(report)[0]).toEqual(["challenge", "challenge_stripped"]);
    } finally {
      proxy.close();
    }
  });

  it("a token issued for another endpoint (the SSE one): wrong_audience", async () => {
    const minted = await mintAccessToken(server.services.prisma, server.env.APP_URL, { resource: `${server.env.APP_URL}/mcp/sse` });
    const { report } = await doctor([`${server.url}/mcp/mcp`, "--token", minted.token]);
    expect(failed(report)).toEqual([["mcp-discover", "wrong_audience"]]);
  });

  it("a redirect URI the client did not register: redirect_uri_unregistered, before any browser opens", async () => {
    const client = await register(server.url, publicClient({ redirect_uris: ["https://app.example/callback"] }));
    const sandbox = clientSandbox("doctor-redirect", "nobody@example.com");
    const { report } = await doctor([`${server.url}/mcp/mcp`, "--interactive", "--client-id", client.client_id, "--timeout", "5"], sandbox.env);
    expect(failed(report)).toEqual([["authorize", "redirect_uri_unregistered"]]);
    expect(sandbox.consentEvents()).toEqual([]);
  });

  it("a browser client's Origin the server does not allow: origin_refused, naming ALLOWED_ORIGINS", async () => {
    const { report } = await doctor([`${server.url}/mcp/mcp`, "--origin", "https://app.example"]);
    expect(failed(report)[0]).toEqual(["probe", "origin_refused"]);
    expect(report.steps[0]!.fix).toMatch(/ALLOWED_ORIGINS/);
  });

  it("a per-IP rate limit: rate_limited, naming the settings", async () => {
    const limited = await startTestServer({ RATE_LIMIT_MCP_PER_IP: "2" });
    const minted = await mintAccessToken(limited.services.prisma, limited.env.APP_URL);
    const { report } = await doctor([`${limited.url}/mcp/mcp`, "--token", minted.token]);
    const step = report.steps.find((s) => s.cause === "rate_limited");
    expect(step).toBeDefined();
    expect(step!.fix).toMatch(/RATE_LIMIT_\*_PER_IP|TRUSTED_IP_RANGES/);
  });

  it("usage errors are one line on stderr and a non-zero exit", async () => {
    const result = await run(process.execPath, [BIN, "doctor", "not a url"], { env: process.env, timeoutMs: 30_000 });
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split("\n")).toEqual(['mcp-oauth-server: "not a url" is not an http(s) URL']);
    const unknown = await run(process.execPath, [BIN, "frobnicate"], { env: process.env, timeoutMs: 30_000 });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command "frobnicate"/);
  });
});
