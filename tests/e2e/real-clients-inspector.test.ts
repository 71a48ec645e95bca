/**
 * The MCP Inspector 2.12 CLI (`inspector --cli <url> --method …`) against our server, given nothing but its URL: it
 * discovers (RFC 9728 → RFC 8414), registers (RFC 7591), opens the authorization URL with PKCE (RFC 7636) in "the
 * browser" (tests/helpers/consent-browser.mjs via $BROWSER: dev sign-in, Allow), takes the code on its loopback
 * callback (RFC 8252 §7.3), keeps the tokens in its store, and calls our tools.
 *
 * Headless settings, none of them about our server: MCP_AUTO_OPEN_ENABLED=true (without a terminal it otherwise
 * refuses to start a browser sign-in), MCP_INSPECTOR_SECRET_STORE=file (no OS keychain here), HOME in a temp dir.
 * The package declares Node >= 22.19; its CLI runs on our Node 20 for everything used here.
 */
import { createServer } from "node:net";
import { beforeAll, describe, expect, it } from "vitest";
import { clientSandbox, explain, missingForRealClients, packageBin, run, type ClientSandbox } from "../helpers/consent-browser.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

const skipReason = missingForRealClients();
let server: TestServer;

beforeAll(async () => {
  if (skipReason) return;
  server = await startTestServer({ AUTH_DEV_LOGIN: "true" });
});

/** The Inspector's default callback is http://127.0.0.1:6276/oauth/callback; move only if that port is taken. */
async function callbackEnv(): Promise<Record<string, string>> {
  const free = await new Promise<boolean>((resolve) => {
    const probe = createServer().once("error", () => resolve(false));
    probe.listen(6276, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
  if (free) return {};
  const { freePort } = await import("../../server/db/embedded.ts");
  return { MCP_OAUTH_CALLBACK_URL: `http://127.0.0.1:${await freePort()}/oauth/callback` };
}

async function inspector(sandbox: ClientSandbox, args: string[]) {
  const env = { ...sandbox.env, MCP_AUTO_OPEN_ENABLED: "true", MCP_INSPECTOR_SECRET_STORE: "file", ...(await callbackEnv()) };
  const result = await run(process.execPath, [packageBin("@modelcontextprotocol/inspector", "inspector"), "--cli", ...args, "--format", "json"], {
    env,
    timeoutMs: 50_000,
  });
  const why = explain(result, sandbox);
  expect(result.code, why).toBe(0);
  return { result, why, output: JSON.parse(result.stdout) as { result: Record<string, unknown> } };
}

describe.skipIf(skipReason)(`MCP Inspector 2.12 CLI with only the URL (MCP 2025-11-25 Authorization)${skipReason ? ` — skipped: ${skipReason}` : ""}`, () => {
  it("tools/list: discovers, registers, sends the person through sign-in and consent; tools/call whoami then runs on the stored tokens", { timeout: 90_000 }, async () => {
    const email = "inspector@example.com";
    const sandbox = clientSandbox("inspector", email);
    const url = `${server.env.APP_URL}/mcp/mcp`;

    const listed = await inspector(sandbox, [url, "--method", "tools/list"]);
    const tools = (listed.output.result.tools as Array<{ name: string }>).map((t) => t.name);
    expect(tools, listed.why).toEqual(expect.arrayContaining(["whoami", "list_connected_apps", "revoke_connected_app"]));

    const events = await sandbox.personFinished();
    expect(events.map((e) => e.event), listed.why).toEqual(["open", "signed-in", "consent", "callback"]);
    const opened = new URL(events[0].url!);
    expect(opened.origin + opened.pathname).toBe(`${server.env.APP_URL}/oauth/authorize`);
    expect(opened.searchParams.get("code_challenge_method")).toBe("S256");
    expect(opened.searchParams.get("resource")).toBe(url);
    expect(events[2].heading).toBe("Allow MCP Inspector to use your account?");
    expect(new URL(events[3].url!).searchParams.get("iss")).toBe(server.env.APP_URL);

    const client = await server.services.prisma.client.findUniqueOrThrow({ where: { clientId: opened.searchParams.get("client_id")! } });
    expect(client.name).toBe("MCP Inspector");
    expect(client.grantTypes).toContain("refresh_token");

    // A second run reads the tokens it stored: no browser this time.
    const called = await inspector(sandbox, [url, "--method", "tools/call", "--tool-name", "whoami"]);
    const structured = called.output.result.structuredContent as { user: { email: string }; client: { name: string }; scopes: string[] };
    expect(structured.user.email, called.why).toBe(email);
    expect(structured.client.name).toBe("MCP Inspector");
    expect(structured.scopes).toEqual(["mcp:tools"]);
    expect(sandbox.consentEvents().filter((e) => e.event === "open")).toHaveLength(1);
  });
});
