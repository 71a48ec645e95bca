/**
 * Checklist "Abuse and operations": with the database unreachable the OAuth endpoints answer at once, with
 * `server_error` and 503 (JSON endpoints) or a local 503 page (authorization endpoint), never a hang, a 500 or a
 * stack trace. Discovery needs no database and keeps working.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../server/db/embedded.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { pkce } from "./oauth-support.ts";

let down: TestServer;

beforeAll(async () => {
  const up = await startTestServer({ RATE_LIMIT_ENABLED: "false" });
  const closedPort = await freePort();
  down = await startTestServer(
    { RATE_LIMIT_ENABLED: "false", DATABASE_URL: `postgresql://postgres@127.0.0.1:${closedPort}/none` },
    { database: up.database },
  );
});

async function timed(path: string, init: RequestInit = {}) {
  const started = performance.now();
  const res = await fetch(down.url + path, { redirect: "manual", ...init });
  const text = await res.text();
  return { status: res.status, text, headers: res.headers, ms: performance.now() - started };
}

const form = (params: Record<string, string>) => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded" },
  body: new URLSearchParams(params),
});

describe("OAuth endpoints with the database down", () => {
  it("discovery still answers (no database needed)", async () => {
    expect((await timed("/.well-known/oauth-authorization-server")).status).toBe(200);
    expect((await timed("/.well-known/oauth-protected-resource/mcp/mcp")).status).toBe(200);
  });

  it.each([
    ["/api/oauth/register", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ redirect_uris: ["https://a.example/cb"] }) }],
    ["/api/oauth/token", form({ grant_type: "authorization_code", code: "mcpac_x", code_verifier: "a".repeat(43), client_id: "mcpc_x" })],
    ["/api/oauth/token", form({ grant_type: "refresh_token", refresh_token: "mcprt_x", client_id: "mcpc_x" })],
    ["/api/oauth/revoke", form({ token: "mcpat_x", client_id: "mcpc_x" })],
    ["/api/oauth/introspect", form({ token: "mcpat_x", client_id: "mcpc_x", client_secret: "s" })],
  ])("POST %s → 503 server_error JSON, quickly", async (path, init) => {
    const res = await timed(path, init as RequestInit);
    expect(res.status).toBe(503);
    expect(JSON.parse(res.text)).toEqual({ error: "server_error", error_description: expect.any(String) });
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("retry-after")).toBe("5");
    expect(res.text).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|prisma|at \//i);
    expect(res.ms).toBeLessThan(5_000);
  });

  it("GET /oauth/authorize → a local 503 page, no redirect", async () => {
    const res = await timed(
      `/oauth/authorize?response_type=code&client_id=mcpc_x&redirect_uri=${encodeURIComponent("https://a.example/cb")}&code_challenge=${pkce().challenge}&code_challenge_method=S256`,
    );
    expect(res.status).toBe(503);
    expect(res.headers.get("location")).toBeNull();
    expect(res.text).toContain("temporarily unavailable");
    expect(res.ms).toBeLessThan(5_000);
  });
});
