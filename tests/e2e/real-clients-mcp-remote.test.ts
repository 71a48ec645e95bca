/**
 * mcp-remote 0.15.1 against our server, given nothing but its URL. mcp-remote is the stdio bridge Claude Desktop,
 * Cursor and Windsurf run for remote servers (`npx mcp-remote <url>` in their config); `mcp-remote-client <url>` is
 * its one-shot diagnostic. Both discover (RFC 9728 → RFC 8414), register (RFC 7591), open the authorization URL with
 * PKCE (RFC 7636) in "the browser" (tests/helpers/consent-browser.mjs via $BROWSER: dev sign-in, Allow), take the
 * code on their loopback callback (RFC 8252 §7.3) and call our MCP endpoint with the token.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { beforeAll, describe, expect, it } from "vitest";
import { clientSandbox, explain, missingForRealClients, packageBin, run, type ClientSandbox } from "../helpers/consent-browser.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

const skipReason = missingForRealClients();
let server: TestServer;

beforeAll(async () => {
  if (skipReason) return;
  server = await startTestServer({ AUTH_DEV_LOGIN: "true" });
});

/** The stdio MCP client side, as Claude Desktop runs it: spawn `mcp-remote <url>` and speak MCP over its stdio. */
async function connectThroughBridge(url: string, sandbox: ClientSandbox) {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [packageBin("mcp-remote", "mcp-remote"), url],
    env: { ...sandbox.env, MCP_REMOTE_CONFIG_DIR: `${sandbox.dir}/mcp-auth` } as Record<string, string>,
    stderr: "pipe",
  });
  let stderr = "";
  transport.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const client = new Client({ name: "claude-desktop-stand-in", version: "1.0.0" });
  const started = Date.now();
  try {
    await client.connect(transport, { timeout: 45_000 });
  } catch (error) {
    throw new Error(`mcp-remote did not connect: ${String(error)}\n--- stderr\n${stderr.slice(-4_000)}\n--- person\n${JSON.stringify(sandbox.consentEvents(), null, 1)}`);
  }
  return { client, stderr: () => stderr, connectMs: Date.now() - started };
}

function whoamiEmail(result: Awaited<ReturnType<Client["callTool"]>>): string | undefined {
  const structured = result.structuredContent as { user?: { email?: string } } | undefined;
  return structured?.user?.email;
}

describe.skipIf(skipReason)(`mcp-remote 0.15.1 with only the URL (MCP 2025-11-25 Authorization)${skipReason ? ` — skipped: ${skipReason}` : ""}`, () => {
  it("mcp-remote-client <url>: discovers, registers, sends the person through sign-in and consent, lists our tools", { timeout: 90_000 }, async () => {
    const email = "mcp-remote-client@example.com";
    const sandbox = clientSandbox("mcp-remote-client", email);
    const url = `${server.env.APP_URL}/mcp/mcp`;
    const result = await run(process.execPath, [packageBin("mcp-remote", "mcp-remote-client"), url], {
      env: { ...sandbox.env, MCP_REMOTE_CONFIG_DIR: `${sandbox.dir}/mcp-auth` },
      timeoutMs: 50_000,
      // It exits as soon as its stdin closes, before the person has even signed in.
      keepStdinOpen: true,
    });
    const why = explain(result, sandbox);
    expect(result.code, why).toBe(0);
    expect(result.stderr, why).toContain("Connected successfully!");
    expect(result.stderr, why).toMatch(/"name": "whoami"/);
    expect(result.stderr, why).toMatch(/"name": "list_connected_apps"/);

    const events = await sandbox.personFinished();
    expect(events.map((e) => e.event), why).toEqual(["open", "signed-in", "consent", "callback"]);
    const opened = new URL(events[0].url!);
    expect(opened.origin + opened.pathname).toBe(`${server.env.APP_URL}/oauth/authorize`);
    expect(opened.searchParams.get("code_challenge_method")).toBe("S256");
    expect(opened.searchParams.get("resource")).toBe(url);
    expect(events[2].heading).toBe("Allow MCP CLI Client to use your account?");
    const callback = new URL(events[3].url!);
    expect(callback.searchParams.get("iss")).toBe(server.env.APP_URL);

    // What it registered and what the person granted, as our database has it.
    const client = await server.services.prisma.client.findUniqueOrThrow({ where: { clientId: opened.searchParams.get("client_id")! } });
    expect(client.name).toBe("MCP CLI Client");
    expect(client.tokenEndpointAuthMethod).toBe("none");
    expect(client.redirectUris).toEqual([`${callback.origin}${callback.pathname}`]);
    const grant = await server.services.prisma.grant.findFirstOrThrow({ where: { clientId: client.id, user: { email } } });
    // mcp-remote asks for the scope the 401 names: the least privilege, mcp:tools:read.
    expect(grant.scope).toBe("mcp:tools:read");
  });

  it("mcp-remote <url> over stdio, as Claude Desktop runs it: tools/list, whoami is the signed-in person; the second start reuses its tokens", { timeout: 90_000 }, async () => {
    const email = "claude-desktop@example.com";
    const sandbox = clientSandbox("mcp-remote", email);
    const url = `${server.env.APP_URL}/mcp/mcp`;

    const first = await connectThroughBridge(url, sandbox);
    try {
      const { tools } = await first.client.listTools();
      expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(["whoami", "list_connected_apps", "revoke_connected_app"]));
      // An ordinary person does not see the administrator tools.
      expect(tools.map((t) => t.name)).not.toContain("admin_list_clients");
      const result = await first.client.callTool({ name: "whoami", arguments: {} });
      expect(result.isError ?? false, first.stderr()).toBe(false);
      expect(whoamiEmail(result)).toBe(email);
    } finally {
      await first.client.close();
    }
    const events = await sandbox.personFinished();
    expect(events.map((e) => e.event)).toEqual(["open", "signed-in", "consent", "callback"]);
    expect(events[2].heading).toBe("Allow MCP CLI Proxy to use your account?");

    // Restarted (as when Claude Desktop restarts): the cached tokens are used, nobody is asked again.
    const second = await connectThroughBridge(url, sandbox);
    try {
      const result = await second.client.callTool({ name: "whoami", arguments: {} });
      expect(whoamiEmail(result), second.stderr()).toBe(email);
    } finally {
      await second.client.close();
    }
    expect(sandbox.consentEvents().filter((e) => e.event === "open")).toHaveLength(1);
  });

  it("mcp-remote <url of the legacy SSE endpoint>: falls back from Streamable HTTP to SSE and calls whoami", { timeout: 90_000 }, async () => {
    const email = "sse-user@example.com";
    const sandbox = clientSandbox("mcp-remote-sse", email);
    const bridge = await connectThroughBridge(`${server.env.APP_URL}/mcp/sse`, sandbox);
    try {
      const result = await bridge.client.callTool({ name: "whoami", arguments: {} });
      expect(whoamiEmail(result), bridge.stderr()).toBe(email);
      // Streamable HTTP first (POST on the SSE URL is 405), then the SSE transport (its default http-first strategy).
      expect(bridge.stderr()).toContain("Connected to remote server using SSEClientTransport");
    } finally {
      await bridge.client.close();
    }
  });
});
