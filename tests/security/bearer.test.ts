/**
 * The MCP endpoints' bearer check, attacked (RFC 6750 §2, RFC 7230 §3.2.2, RFC 8707): the token in the form body,
 * the scheme in other cases, a token for a resource on another server, and two Authorization headers (a request
 * a proxy and this server could read differently).
 */
import http from "node:http";
import { beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { mintAccessToken, type MintedToken } from "../helpers/tokens.ts";

let server: TestServer;
let good: MintedToken;

beforeAll(async () => {
  server = await startTestServer({ RATE_LIMIT_ENABLED: "false" });
  good = await mintAccessToken(server.services.prisma, server.env.APP_URL);
});

const LIST = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" });
const FORM = "application/x-www-form-urlencoded";

/** A raw request, so headers can repeat (fetch would merge them). */
async function send(path: string, headers: Array<[string, string]>, body = LIST, contentType = "application/json"): Promise<number> {
  return (await exchange(path, headers, body, contentType)).status;
}

function exchange(path: string, headers: Array<[string, string]>, body: string, contentType: string): Promise<{ status: number; text: string }> {
  const url = new URL(server.url);
  const flat = ["host", url.host, "content-type", contentType, "accept", "application/json, text/event-stream", "content-length", String(Buffer.byteLength(body))];
  for (const [name, value] of headers) flat.push(name, value);
  return new Promise((resolve, reject) => {
    const request = http.request({ host: url.hostname, port: url.port, path, method: "POST", headers: flat }, (response) => {
      let text = "";
      response.on("data", (chunk) => (text += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, text }));
    });
    request.on("error", reject);
    request.end(body);
  });
}

describe("Bearer token usage, RFC 6750 §2 (Authorization header only)", () => {
  it("the scheme is case-insensitive (RFC 7235 §2.1)", async () => {
    expect(await send("/mcp/mcp", [["authorization", `bearer ${good.token}`]])).toBe(200);
    expect(await send("/mcp/mcp", [["authorization", `BEARER ${good.token}`]])).toBe(200);
  });

  it("a token in a form-encoded body (RFC 6750 §2.2) is not a credential here", async () => {
    expect(await send("/mcp/mcp", [], `access_token=${good.token}`, FORM)).toBe(401);
  });

  it("a token bound to a resource on another server is refused (RFC 8707)", async () => {
    const foreign = await mintAccessToken(server.services.prisma, server.env.APP_URL, { resource: "https://other.example/mcp" });
    expect(await send("/mcp/mcp", [["authorization", `Bearer ${foreign.token}`]])).toBe(401);
  });

  it("two Authorization headers with the invalid one first are refused", async () => {
    expect(await send("/mcp/mcp", [["authorization", "Bearer mcpat_forged"], ["authorization", `Bearer ${good.token}`]])).toBe(400);
  });

  // Node keeps the first of repeated Authorization headers and drops the rest before any of our code runs, so a
  // request a proxy may read as "the second one" would be served with the first. RFC 9110 §5.3: Authorization is
  // not a list; the host's edge (server/http/edge.ts) refuses such a request as malformed (400).
  it("two Authorization headers on /mcp/mcp are refused as malformed (400)", async () => {
    expect(await send("/mcp/mcp", [["authorization", `Bearer ${good.token}`], ["authorization", "Bearer mcpat_other"]])).toBe(400);
  });

  it("two Authorization headers on /api/oauth/token are refused as malformed (400 invalid_request)", async () => {
    const basic = (id: string) => ["authorization", `Basic ${Buffer.from(`${id}:`).toString("base64")}`] as [string, string];
    const res = await exchange("/api/oauth/token", [basic(good.clientId), basic("mcpc_other")], `grant_type=authorization_code&code=mcpac_x&code_verifier=${"v".repeat(43)}`, FORM);
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text).error).toBe("invalid_request");
  });
});
