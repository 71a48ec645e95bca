/**
 * Checklist "Abuse and operations" (rate limits per IP and per client on register, authorize, token and MCP):
 * an attacker who spells an endpoint's path differently (case, trailing slash, percent-encoding, dot segments) must
 * not get a fresh budget. The router matches paths case-insensitively and ignores a trailing slash, so every
 * spelling that reaches an endpoint must be counted against the same limit, or not be served at all (404).
 */
import http from "node:http";
import { beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { publicClient, register, type RegisteredClient } from "../integration/oauth-support.ts";

let server: TestServer;
let client: RegisteredClient;

beforeAll(async () => {
  server = await startTestServer({
    RATE_LIMIT_TOKEN_PER_IP: "1",
    RATE_LIMIT_AUTHORIZE_PER_IP: "1",
    RATE_LIMIT_REGISTER_PER_IP: "2",
    RATE_LIMIT_MCP_PER_IP: "1",
  });
  client = await register(server.url, publicClient());
  // Spend every budget once with the canonical path (registration spent one above).
  expect(await send("POST", "/api/oauth/token", "form")).not.toBe(429);
  expect(await send("GET", `/oauth/authorize?client_id=${client.client_id}`)).not.toBe(429);
  expect(await send("POST", "/api/oauth/register", "json")).not.toBe(429);
  expect(await send("POST", "/mcp/mcp", "json")).not.toBe(429);
  expect(await send("POST", "/api/oauth/token", "form")).toBe(429);
});

/** A raw HTTP request (fetch would normalise dot segments before sending), status only. */
function send(method: string, path: string, body?: "form" | "json"): Promise<number> {
  const url = new URL(server.url);
  const payload = body === "form" ? `grant_type=refresh_token&refresh_token=x&client_id=${client?.client_id ?? "x"}` : body === "json" ? "{}" : "";
  const headers: Record<string, string | number> = { "content-length": Buffer.byteLength(payload) };
  if (body) headers["content-type"] = body === "form" ? "application/x-www-form-urlencoded" : "application/json";
  return new Promise((resolve, reject) => {
    const request = http.request({ host: url.hostname, port: url.port, path, method, headers }, (response) => {
      response.resume();
      response.on("end", () => resolve(response.statusCode ?? 0));
    });
    request.on("error", reject);
    request.end(payload);
  });
}

/** Served at most within the budget: over it, every spelling is 429 (counted) or 404 (not an endpoint). */
const refusedOrNotFound = [429, 404];

describe("Rate limits cover every spelling of an OAuth endpoint's path (checklist: Abuse and operations)", () => {
  it.each(["/API/OAUTH/TOKEN", "/api/oauth/token/", "/Api/OAuth/Token/", "/api/oauth/%74oken", "/api/oauth/revoke/", "/API/oauth/introspect"])(
    "token endpoint as POST %s",
    async (path) => {
      expect(refusedOrNotFound).toContain(await send("POST", path, "form"));
    },
  );

  it.each(["/OAUTH/AUTHORIZE", "/oauth/authorize/", "/oauth/%61uthorize"])("authorization endpoint as GET %s", async (path) => {
    expect(refusedOrNotFound).toContain(await send("GET", `${path}?client_id=${client.client_id}`));
  });

  it.each(["/API/OAUTH/REGISTER", "/api/oauth/register/"])("registration endpoint as POST %s", async (path) => {
    expect(refusedOrNotFound).toContain(await send("POST", path, "json"));
  });

  it.each(["/MCP/MCP", "/Mcp/Mcp/"])("MCP endpoint as POST %s", async (path) => {
    expect(refusedOrNotFound).toContain(await send("POST", path, "json"));
  });

  // The Fetch URL handed to the routes has its dot segments resolved; the per-IP limiter resolves them too.
  it.each(["/api/oauth/./token", "/api/oauth/x/../token"])("token endpoint as POST %s (dot segments)", async (path) => {
    expect(refusedOrNotFound).toContain(await send("POST", path, "form"));
  });
});
