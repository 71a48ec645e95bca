/**
 * Hostile text at the edge (issue 13): NUL bytes, invalid UTF-8, lone surrogates, over-long values, odd request
 * targets and repeated headers get a 400 in the form of the surface they were sent to — an OAuth error on the OAuth
 * endpoints (RFC 6749 §5.2), a JSON-RPC error on /mcp (JSON-RPC 2.0 §5.1), a tRPC BAD_REQUEST on /api/trpc, a page
 * on pages — and never a 500. The first block is what the issue measured reaching Postgres as 500s.
 */
import type http from "node:http";
import net from "node:net";
import { beforeAll, describe, expect, it } from "vitest";
import type { TestServer } from "../helpers/server.ts";
import { authorizeUrl, browse, CookieJar, hiddenField, pkce, REDIRECT, startOAuthFixture, type RegisteredClient } from "../integration/oauth-support.ts";

let server: TestServer;
let client: RegisteredClient;
let jar: CookieJar;

beforeAll(async () => {
  ({ server, client, jar } = await startOAuthFixture({ email: "hostile@example.com" }));
});

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request on its own connection, bytes as given (targets and bodies `fetch` would rewrite or refuse). */
function raw(method: string, target: string, headers: Record<string, string> | Array<[string, string]> = {}, body?: Buffer | string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body, "utf8");
    const pairs = Array.isArray(headers) ? headers : Object.entries(headers);
    const lines = [`${method} ${target} HTTP/1.1`, "Connection: close"];
    if (!pairs.some(([name]) => name.toLowerCase() === "host")) lines.push(`Host: 127.0.0.1:${server.port}`);
    for (const [name, value] of pairs) lines.push(`${name}: ${value}`);
    if (payload) lines.push(`Content-Length: ${payload.length}`);
    const socket = net.connect(server.port, "127.0.0.1", () => {
      socket.write(Buffer.concat([Buffer.from(lines.join("\r\n") + "\r\n\r\n", "latin1"), payload ?? Buffer.alloc(0)]));
    });
    const parser = new HttpAnswer();
    socket.on("data", (chunk) => parser.push(chunk));
    socket.on("end", () => resolve(parser.answer()));
    socket.on("error", reject);
  });
}

/** Collects a raw HTTP/1.1 answer (Connection: close, so the body runs to the end; chunked bodies are unwrapped). */
class HttpAnswer {
  private data: Buffer = Buffer.alloc(0);
  push(chunk: Buffer) {
    this.data = Buffer.concat([this.data, chunk]);
  }
  answer(): Answer {
    const text = this.data.toString("latin1");
    const end = text.indexOf("\r\n\r\n");
    const [statusLine = "", ...headerLines] = text.slice(0, end).split("\r\n");
    const headers: http.IncomingHttpHeaders = {};
    for (const line of headerLines) {
      const colon = line.indexOf(":");
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    let body = this.data.subarray(end + 4);
    if (headers["transfer-encoding"] === "chunked") body = unchunk(body);
    return { status: Number(statusLine.split(" ")[1]), headers, body: body.toString("utf8") };
  }
}

function unchunk(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = data.indexOf("\r\n", at);
    if (lineEnd < 0) break;
    const size = Number.parseInt(data.subarray(at, lineEnd).toString("latin1"), 16);
    if (!size) break;
    parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

function expectOAuthError(answer: Answer, code = "invalid_request") {
  expect(answer.status, answer.body).toBe(400);
  expect(answer.headers["content-type"]).toMatch(/^application\/json/);
  expect(answer.headers["cache-control"]).toBe("no-store");
  expect(JSON.parse(answer.body)).toMatchObject({ error: code, error_description: expect.any(String) });
}

function expectPage(answer: Answer) {
  expect(answer.status, answer.body.slice(0, 300)).toBe(400);
  expect(answer.headers["content-type"]).toMatch(/^text\/html/);
  expect(answer.body).toMatch(/<html/i);
  expect(answer.body).not.toMatch(/\bat .*\.(ts|js):\d+/);
}

function expectJsonRpcError(answer: Answer) {
  expect(answer.status, answer.body).toBe(400);
  expect(answer.headers["content-type"]).toMatch(/^application\/json/);
  expect(JSON.parse(answer.body)).toMatchObject({ jsonrpc: "2.0", id: null, error: { code: -32600, message: expect.any(String) } });
}

function expectTrpcBadRequest(answer: Answer) {
  expect(answer.status, answer.body).toBe(400);
  expect(answer.headers["content-type"]).toMatch(/^application\/json/);
  const body = JSON.parse(answer.body) as { error: { code: number; message: string; data: { code: string; httpStatus: number } } };
  expect(body.error).toMatchObject({ code: -32600, message: expect.any(String), data: { code: "BAD_REQUEST", httpStatus: 400 } });
}

describe("NUL bytes that reached Postgres as 500s (issue 13, measured)", () => {
  it("the authorization page: %00 in a query parameter, anonymous and signed in", async () => {
    const { challenge } = pkce();
    const target = new URL(
      authorizeUrl(server.url, { response_type: "code", client_id: `${client.client_id}\u0000`, redirect_uri: REDIRECT, code_challenge: challenge, code_challenge_method: "S256", state: "a\u0000b" }),
    );
    expectPage(await raw("GET", target.pathname + target.search));
    expectPage(await raw("GET", target.pathname + target.search, { Cookie: jar.header() }));
  });

  it.each([
    ["software_id", { software_id: "app\u0000" }],
    ["contacts", { contacts: ["ops\u0000@example.com"] }],
    ["software_version", { software_version: "1.0\u0000" }],
  ])("registration: NUL in %s", async (_field, extra) => {
    const body = JSON.stringify({ client_name: "NUL test", redirect_uris: [REDIRECT], token_endpoint_auth_method: "none", ...extra });
    expectOAuthError(await raw("POST", "/api/oauth/register", { "Content-Type": "application/json" }, body), "invalid_client_metadata");
  });

  it("the token endpoint: NUL in client_id and code", async () => {
    const body = form({ grant_type: "authorization_code", code: "mcpac_\u0000", code_verifier: "v".repeat(43), client_id: `${client.client_id}\u0000`, redirect_uri: REDIRECT });
    expectOAuthError(await raw("POST", "/api/oauth/token", { "Content-Type": "application/x-www-form-urlencoded" }, body));
  });

  it.each(["/api/oauth/revoke", "/api/oauth/introspect"])("%s: NUL in client_id and token", async (path) => {
    const body = form({ token: "mcpat_\u0000", client_id: `${client.client_id}\u0000` });
    expectOAuthError(await raw("POST", path, { "Content-Type": "application/x-www-form-urlencoded" }, body));
  });

  it("the sign-in form: NUL in the email address", async () => {
    const visitor = new CookieJar();
    const page = await browse(visitor, `${server.url}/login`);
    const csrf = hiddenField(await page.text(), "csrf");
    const body = form({ csrf, email: "nul\u0000@example.com", returnTo: "/" });
    expectPage(await raw("POST", "/login", { "Content-Type": "application/x-www-form-urlencoded", Cookie: visitor.header() }, body));
  });

  it("a tRPC mutation: NUL in its input", async () => {
    const body = JSON.stringify({ grantId: "grant\u0000" });
    const answer = await raw("POST", "/api/trpc/me.revokeGrant", { "Content-Type": "application/json", Cookie: jar.header(), Origin: server.env.APP_URL }, body);
    expectTrpcBadRequest(answer);
  });
});

describe("other hostile text: 400 in the surface's own form", () => {
  const INVALID_UTF8 = Buffer.from([0x61, 0xc3, 0x28, 0x62]);

  it("invalid UTF-8 in a JSON body (registration) and a form body (token)", async () => {
    const json = Buffer.concat([Buffer.from('{"client_name":"'), INVALID_UTF8, Buffer.from(`","redirect_uris":["${REDIRECT}"]}`)]);
    expectOAuthError(await raw("POST", "/api/oauth/register", { "Content-Type": "application/json" }, json), "invalid_client_metadata");
    // Percent-encoded bytes that do not decode as UTF-8 (URLSearchParams would turn them into U+FFFD silently).
    expectOAuthError(await raw("POST", "/api/oauth/token", { "Content-Type": "application/x-www-form-urlencoded" }, "grant_type=refresh_token&refresh_token=%C3%28"));
  });

  it("a lone surrogate in a JSON string (\\ud800 escape)", async () => {
    const body = `{"client_name":"x\\ud800","redirect_uris":["${REDIRECT}"]}`;
    expectOAuthError(await raw("POST", "/api/oauth/register", { "Content-Type": "application/json" }, body), "invalid_client_metadata");
    expectTrpcBadRequest(await raw("POST", "/api/trpc/me.revokeGrant", { "Content-Type": "application/json", Cookie: jar.header(), Origin: server.env.APP_URL }, '{"grantId":"\\udc00"}'));
  });

  it("invalid UTF-8 or NUL in the path or query of a page", async () => {
    expectPage(await raw("GET", "/admin/clients/%00"));
    expectPage(await raw("GET", "/login?returnTo=%C3%28"));
    expectPage(await raw("GET", "/account?x=%00", { Cookie: jar.header() }));
  });

  it("an over-long value: a 10 000-character email at sign-in", async () => {
    const visitor = new CookieJar();
    const page = await browse(visitor, `${server.url}/login`);
    const csrf = hiddenField(await page.text(), "csrf");
    const body = form({ csrf, email: `${"a".repeat(10_000)}@example.com`, returnTo: "/" });
    expectPage(await raw("POST", "/login", { "Content-Type": "application/x-www-form-urlencoded", Cookie: visitor.header() }, body));
  });

  it("a long query on a page that needs sign-in: the redirect to /login stays short enough for proxies and clients", async () => {
    const query = Array.from({ length: 12 }, (_, i) => `p${i}=${"%C3%A9".repeat(200)}`).join("&");
    const answer = await raw("GET", `/admin/clients/x?${query}`);
    expect(answer.status).toBe(302);
    const location = String(answer.headers.location);
    expect(location.length).toBeLessThanOrEqual(6000);
    expect(location).toBe("/login?returnTo=%2Fadmin%2Fclients%2Fx");
  });

  it("MCP: NUL, a lone surrogate or invalid UTF-8 in the JSON-RPC body is a JSON-RPC error, with or without a token", async () => {
    const headers = { "Content-Type": "application/json", Accept: "application/json, text/event-stream" };
    const call = (args: string) => `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{"x":"${args}"}}}`;
    expectJsonRpcError(await raw("POST", "/mcp/mcp", headers, call("\\u0000")));
    expectJsonRpcError(await raw("POST", "/mcp/mcp", { ...headers, Authorization: "Bearer mcpat_nothing" }, call("\\ud800")));
    expectJsonRpcError(await raw("POST", "/mcp/mcp", headers, Buffer.concat([Buffer.from(call("")).subarray(0, -4), INVALID_UTF8, Buffer.from('"}}}')])));
    expectJsonRpcError(await raw("POST", "/mcp/message?sessionId=%00", headers, call("")));
  });
});

describe("odd request targets and repeated headers", () => {
  it.each([
    ["without a token", {}],
    ["with a token", { Authorization: "Bearer mcpat_nothing" }],
  ])("an absolute-form target naming another host (POST http://evil.example/mcp/mcp) %s: 400", async (_name, auth) => {
    const answer = await raw("POST", "http://evil.example/mcp/mcp", { "Content-Type": "application/json", ...auth }, '{"jsonrpc":"2.0","id":1,"method":"tools/list"}');
    expectJsonRpcError(answer);
  });

  it("an absolute-form target naming this server is served as its path (RFC 9112 §3.2.2)", async () => {
    const answer = await raw("GET", `http://127.0.0.1:${server.port}/api/health`);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ status: "healthy" });
  });

  it("a protocol-relative path (//mcp/mcp) with a foreign Origin: 400", async () => {
    const answer = await raw("POST", "//mcp/mcp", { "Content-Type": "application/json", Origin: "https://evil.example" }, '{"jsonrpc":"2.0","id":1,"method":"tools/list"}');
    expectJsonRpcError(answer);
    expectPage(await raw("GET", "//evil.example/login", { Origin: "https://evil.example" }));
    expectOAuthError(await raw("POST", "//api/oauth/token", { "Content-Type": "application/x-www-form-urlencoded" }, "grant_type=x"));
  });

  it.each([
    ["Host", ["evil.example", "127.0.0.1"]],
    ["Content-Type", ["application/json", "application/x-www-form-urlencoded"]],
    ["Origin", ["https://a.example", "https://b.example"]],
    ["Authorization", ["Bearer a", "Bearer b"]],
  ])("a repeated %s header: 400 (RFC 9110 §5.3)", async (name, values) => {
    const headers: Array<[string, string]> = values.map((value) => [name, value]);
    if (name !== "Content-Type") headers.push(["Content-Type", "application/x-www-form-urlencoded"]);
    if (name !== "Host") headers.push(["Host", `127.0.0.1:${server.port}`]);
    expectOAuthError(await raw("POST", "/api/oauth/token", headers, "grant_type=refresh_token"));
  });

  it("repeated parameters on the token endpoint and the authorization page are refused as before", async () => {
    expectOAuthError(await raw("POST", "/api/oauth/token", { "Content-Type": "application/x-www-form-urlencoded" }, "grant_type=refresh_token&grant_type=authorization_code"));
    const { challenge } = pkce();
    const url = new URL(authorizeUrl(server.url, { response_type: "code", client_id: client.client_id, redirect_uri: REDIRECT, code_challenge: challenge, code_challenge_method: "S256" }));
    const answer = await raw("GET", `${url.pathname}${url.search}&client_id=other`, { Cookie: jar.header() });
    expect(answer.status).toBe(400);
    expect(answer.headers["content-type"]).toMatch(/^text\/html/);
  });
});
