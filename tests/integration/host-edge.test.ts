/**
 * The host's edge steps (server/http/edge.ts) on both of its paths: the MCP fast path (exact `/mcp/mcp`, no
 * Express) and Express (every other request, including other spellings of the MCP paths). Same security headers,
 * request id, access line and route names either way; static files are named, not `unmatched`.
 */
import { readdirSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { remixBuildPath } from "../../server/http/remix.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { captureLog, mcpPost, seedAccessToken, type CapturedLog } from "../observability/support.ts";

let server: TestServer;
let captured: CapturedLog;

beforeAll(async () => {
  captured = captureLog();
  server = await startTestServer({ LOG_LEVEL: "info" }, { log: captured.log });
});

function accessLines(): Array<Record<string, unknown>> {
  return captured.lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.msg === "request");
}

async function lineFor(requestId: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 50; i++) {
    const line = accessLines().find((l) => l.requestId === requestId);
    if (line) return line;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`no access line for ${requestId}`);
}

describe("host edge: fast path and Express path answer alike (OWASP Secure Headers, RFC 6750 §3)", () => {
  it("the same security headers, request id and access line on /mcp/mcp (fast path) and /MCP/mcp (Express)", async () => {
    const headersOf = async (path: string, requestId: string) => {
      const res = await fetch(`${server.url}${path}`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json, text/event-stream", "X-Request-Id": requestId },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
      });
      await res.arrayBuffer();
      expect(res.status, path).toBe(401);
      expect(res.headers.get("x-request-id")).toBe(requestId);
      expect(res.headers.get("www-authenticate")).toMatch(/^Bearer .*resource_metadata="[^"]+"/);
      const names = [...res.headers.keys()].filter((name) => !["date", "connection", "keep-alive", "content-length", "x-request-id"].includes(name));
      return Object.fromEntries(names.map((name) => [name, res.headers.get(name)]));
    };
    const fast = await headersOf("/mcp/mcp", "edge-fast-1");
    const viaExpress = await headersOf("/MCP/mcp", "edge-express-1");
    expect(viaExpress).toEqual(fast);
    expect(fast["content-security-policy"]).toContain("frame-ancestors 'none'");
    expect(fast["content-security-policy"]).not.toContain("nonce-");
    expect(fast["x-content-type-options"]).toBe("nosniff");

    for (const id of ["edge-fast-1", "edge-express-1"]) {
      const line = await lineFor(id);
      expect(line).toMatchObject({ level: "info", service: "mcp-oauth-server", method: "POST", route: "/mcp/mcp", status: 401 });
      expect(line).not.toHaveProperty("oauthError");
      expect(typeof line.durationMs).toBe("number");
      expect(typeof line.time).toBe("string");
    }
  });

  it("an authenticated call on the fast path logs the client and user, never the token", async () => {
    const seeded = await seedAccessToken(server);
    const res = await mcpPost(server.url, seeded.token, "tools/call", { name: "whoami", arguments: {} });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    const line = await lineFor(res.headers.get("x-request-id")!);
    expect(line).toMatchObject({ route: "/mcp/mcp", status: 200, clientId: seeded.clientDbId, userId: seeded.userId });
    expect(captured.lines.join("\n")).not.toContain(seeded.token);
  });

  it("names static files `/build/*` and `static` in the access line, not `unmatched`", async () => {
    const asset = readdirSync("public/build").find((name) => name.endsWith(".js"))!;
    const built = await fetch(`${server.url}/build/${asset}`);
    expect(built.status).toBe(200);
    await built.arrayBuffer();
    expect(built.headers.get("cache-control")).toContain("immutable");
    expect(await lineFor(built.headers.get("x-request-id")!)).toMatchObject({ route: "/build/*", status: 200 });

    const icon = await fetch(`${server.url}/favicon.svg`);
    expect(icon.status).toBe(200);
    await icon.arrayBuffer();
    expect(await lineFor(icon.headers.get("x-request-id")!)).toMatchObject({ route: "static", status: 200 });
  });

  it("serves Remix's route discovery (/__manifest) with its query (unknown paths reach Remix without theirs), named `/__manifest`", async () => {
    const { version } = ((await import(pathToFileURL(remixBuildPath).href)) as { assets: { version: string } }).assets;
    const found = await fetch(`${server.url}/__manifest?version=${version}&p=%2Faccount`);
    expect(found.status).toBe(200); // a version mismatch (query dropped) would be 204 + X-Remix-Reload-Document
    expect(Object.keys((await found.json()) as object)).toContain("routes/account");
    expect(await lineFor(found.headers.get("x-request-id")!)).toMatchObject({ route: "/__manifest", status: 200 });
  });
});
