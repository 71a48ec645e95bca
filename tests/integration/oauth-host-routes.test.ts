/**
 * The OAuth POST endpoints on the host's fast path (server/http/oauth-routes.ts, ADR 0014): the same answers as the
 * endpoints give through a Remix resource route (Fetch Request in, Response out), with the host's edge steps.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RequestMeta } from "../../server/request/meta.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { collectEvents, publicClient, register } from "./oauth-support.ts";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

const FORM = { "content-type": "application/x-www-form-urlencoded" };

/** The answer through the host (HTTP) and through the endpoint as the Remix route calls it, for one request. */
async function bothWays(path: string, name: "token" | "revoke" | "introspect" | "register", init: { headers: Record<string, string>; body: string }) {
  const http = await fetch(server.url + path, { method: "POST", ...init });
  const meta: RequestMeta = { requestId: "t", startedAt: 0n, ip: "127.0.0.1", userAgent: null, cspNonce: "" };
  const request = new Request(server.env.APP_URL + path, { method: "POST", ...init });
  const remix = await server.services.oauth[name](request, meta);
  return { http, remix };
}

function sameAnswer(a: Response, b: Response, bodies: [string, string]) {
  expect(a.status).toBe(b.status);
  for (const header of ["content-type", "cache-control", "pragma", "www-authenticate", "dpop-nonce"]) {
    expect(a.headers.get(header), header).toBe(b.headers.get(header));
  }
  expect(bodies[0]).toBe(bodies[1]);
}

describe("OAuth POST endpoints on the host (ADR 0014)", () => {
  it.each([
    ["token, unsupported grant type", "/api/oauth/token", "token", { headers: FORM, body: "grant_type=password&client_id=x" }],
    ["token, unknown client over Basic", "/api/oauth/token", "token", { headers: { ...FORM, authorization: `Basic ${Buffer.from("nobody:pw").toString("base64")}` }, body: "grant_type=refresh_token&refresh_token=mcprt_x" }],
    ["token, wrong content type", "/api/oauth/token", "token", { headers: { "content-type": "text/plain" }, body: "grant_type=refresh_token" }],
    ["revocation, no client", "/api/oauth/revoke", "revoke", { headers: FORM, body: "token=mcpat_x" }],
    ["introspection, no client", "/api/oauth/introspect", "introspect", { headers: FORM, body: "token=mcpat_x" }],
    ["registration, not JSON", "/api/oauth/register", "register", { headers: FORM, body: "a=b" }],
  ] as const)("%s: the same status, headers and body as through the Remix route", async (_name, path, name, init) => {
    const { http, remix } = await bothWays(path, name, { headers: { ...init.headers }, body: init.body });
    sameAnswer(http, remix, [await http.text(), await remix.text()]);
  });

  it("a revocation of an unknown token: 200, empty body, Content-Length 0, no-store (RFC 7009 §2.2)", async () => {
    const client = await register(server.url, publicClient());
    const res = await fetch(`${server.url}/api/oauth/revoke`, { method: "POST", headers: FORM, body: `token=mcpat_unknown&client_id=${client.client_id}` });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-length")).toBe("0");
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(await res.text()).toBe("");
  });

  it("the host's edge steps run: request id, security headers, CORS, and the access log names the route", async () => {
    const requests = collectEvents(server, "http.request");
    const res = await fetch(`${server.url}/api/oauth/token`, {
      method: "POST",
      headers: { ...FORM, origin: "https://app.example", "x-request-id": "fast-path-1" },
      body: "grant_type=refresh_token&client_id=nobody",
    });
    expect(res.status).toBe(401);
    expect(res.headers.get("x-request-id")).toBe("fast-path-1");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    // ALLOWED_ORIGINS unset: any origin on /api/oauth (cors.ts).
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    await res.text();
    await expect.poll(() => requests.events.find((e) => e.method === "POST" && e.status === 401)).toMatchObject({
      route: "/api/oauth/token",
      oauthError: "invalid_client",
    });
    requests.stop();
  });

  it("a body over the host's limit is 413 and a NUL byte in it 400, as through Express", async () => {
    const big = await fetch(`${server.url}/api/oauth/token`, { method: "POST", headers: FORM, body: "a=" + "x".repeat(1024 * 1024 + 1) });
    expect(big.status).toBe(413);
    expect((await big.json()).error).toBe("invalid_request");
    const nul = await fetch(`${server.url}/api/oauth/token`, { method: "POST", headers: FORM, body: "grant_type=refresh_token&client_id=a%00b\u0000" });
    expect(nul.status).toBe(400);
  });

  it("other spellings, query strings and GET still reach the Remix routes (404, invalid_request, 405)", async () => {
    expect((await fetch(`${server.url}/api/oauth/token/`, { method: "POST", headers: FORM, body: "grant_type=x" })).status).toBe(404);
    const query = await fetch(`${server.url}/api/oauth/token?code=x`, { method: "POST", headers: FORM, body: "grant_type=authorization_code" });
    expect(query.status).toBe(400);
    expect((await query.json()).error).toBe("invalid_request");
    expect((await fetch(`${server.url}/api/oauth/token`)).status).toBe(405);
  });
});
