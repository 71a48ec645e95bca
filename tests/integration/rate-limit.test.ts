/**
 * Rate limits per IP and per client (OAuth 2.1 / RFC 9700 abuse protection, MCP Security Best Practices):
 * 429 + Retry-After + `{"error":"rate_limit_exceeded","retry_after":<s>}`, shared through Redis, trusted CIDRs
 * exempt, X-Forwarded-For believed only with TRUST_PROXY, in-memory fallback when Redis is down.
 */
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { freePort } from "../../server/db/embedded.ts";
import type { DomainEvents } from "../../server/events.ts";
import { EnvError, parseEnv } from "../../server/env.ts";
import { createLogger } from "../../server/logger.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { mintAccessToken } from "../helpers/tokens.ts";
import { INITIALIZE, TEST_REDIS_URL, rawMcpPost, redisTestPrefix } from "../helpers/mcp.ts";

function post(server: TestServer, path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${server.url}${path}`, { method: "POST", ...init });
}

async function statuses(count: number, send: () => Promise<Response>): Promise<number[]> {
  const result: number[] = [];
  for (let i = 0; i < count; i += 1) {
    const res = await send();
    await res.arrayBuffer();
    result.push(res.status);
  }
  return result;
}

function collect<K extends keyof DomainEvents>(server: TestServer, name: K): Array<DomainEvents[K]> {
  const seen: Array<DomainEvents[K]> = [];
  server.services.events.on(name, (event) => seen.push(event));
  return seen;
}

describe("Configuration", () => {
  it("refuses a malformed TRUSTED_IP_RANGES at start, naming the variable", () => {
    for (const bad of ["10.0.0.0/33", "not-an-ip", "10.0.0.0/8,,::1/129"]) {
      expect(() => parseEnv({ NODE_ENV: "test", TRUSTED_IP_RANGES: bad })).toThrow(EnvError);
      expect(() => parseEnv({ NODE_ENV: "test", TRUSTED_IP_RANGES: bad })).toThrow(/TRUSTED_IP_RANGES/);
    }
    expect(parseEnv({ NODE_ENV: "test", TRUSTED_IP_RANGES: "10.0.0.0/8, 127.0.0.1, ::1/128" }).TRUSTED_IP_RANGES).toHaveLength(3);
  });
});

describe("Per-IP limits, in memory (no REDIS_URL)", () => {
  it("answers the N+1th token request with 429, Retry-After and the error body, and records it once", async () => {
    const server = await startTestServer({ RATE_LIMIT_TOKEN_PER_IP: "3", RATE_LIMIT_WINDOW_SECONDS: "30" });
    const security = collect(server, "security.event");
    const exceeded = collect(server, "ratelimit.exceeded");
    const send = () => post(server, "/api/oauth/token", { headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: "grant_type=x" });
    const first = await statuses(3, send);
    expect(first.every((s) => s !== 429)).toBe(true);
    const res = await send();
    expect(res.status).toBe(429);
    const retryAfter = Number(res.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(30);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(await res.json()).toEqual({ error: "rate_limit_exceeded", retry_after: retryAfter });
    expect((await send()).status).toBe(429);
    expect(security.filter((e) => e.type === "RATE_LIMIT_EXCEEDED")).toHaveLength(1);
    expect(security.find((e) => e.type === "RATE_LIMIT_EXCEEDED")).toMatchObject({ ip: "127.0.0.1", details: { endpoint: "token", key: "ip" } });
    expect(exceeded).toHaveLength(2);
    expect(exceeded[0]).toMatchObject({ endpoint: "token", key: "ip" });
    // Other endpoints have their own budget.
    expect((await post(server, "/api/oauth/register", { headers: { "Content-Type": "application/json" }, body: "{}" })).status).not.toBe(429);
  });

  it("limits MCP per IP, whatever the token", async () => {
    const server = await startTestServer({ RATE_LIMIT_MCP_PER_IP: "2" });
    const codes = await statuses(3, () => rawMcpPost(server.url, INITIALIZE));
    expect(codes).toEqual([401, 401, 429]);
  });

  it("a spoofed X-Forwarded-For does not dodge the limit (TRUST_PROXY=false)", async () => {
    const server = await startTestServer({ RATE_LIMIT_REGISTER_PER_IP: "2", TRUSTED_IP_RANGES: "10.0.0.0/8" });
    let n = 0;
    const codes = await statuses(4, () =>
      post(server, "/api/oauth/register", {
        // A new address each time, and one inside the trusted range: neither is believed.
        headers: { "Content-Type": "application/json", "X-Forwarded-For": n++ % 2 ? `203.0.113.${n}` : "10.1.2.3" },
        body: "{}",
      }),
    );
    expect(codes.slice(0, 2).every((s) => s !== 429)).toBe(true);
    expect(codes.slice(2)).toEqual([429, 429]);
  });

  it("exempts callers in TRUSTED_IP_RANGES", async () => {
    const server = await startTestServer({ RATE_LIMIT_MCP_PER_IP: "1", TRUSTED_IP_RANGES: "192.0.2.0/24, 127.0.0.0/8" });
    const codes = await statuses(5, () => rawMcpPost(server.url, INITIALIZE));
    expect(codes).toEqual([401, 401, 401, 401, 401]);
  });

  it("with TRUST_PROXY=true, the forwarded address is the one limited (and exempted)", async () => {
    const server = await startTestServer({ RATE_LIMIT_MCP_PER_IP: "1", TRUST_PROXY: "true", TRUSTED_IP_RANGES: "10.0.0.0/8" });
    const from = (ip: string) => () => rawMcpPost(server.url, INITIALIZE, { "X-Forwarded-For": ip });
    expect(await statuses(2, from("203.0.113.7"))).toEqual([401, 429]);
    expect(await statuses(1, from("203.0.113.8"))).toEqual([401]);
    expect(await statuses(3, from("10.9.9.9"))).toEqual([401, 401, 401]);
  });

  it("counts IPv6 callers per /64", async () => {
    const server = await startTestServer({ RATE_LIMIT_MCP_PER_IP: "1", TRUST_PROXY: "true" });
    const from = (ip: string) => () => rawMcpPost(server.url, INITIALIZE, { "X-Forwarded-For": ip });
    expect(await statuses(1, from("2001:db8:1:2::1"))).toEqual([401]);
    expect(await statuses(1, from("2001:db8:1:2::ffff"))).toEqual([429]);
    expect(await statuses(1, from("2001:db8:1:3::1"))).toEqual([401]);
  });
});

describe("Per-client limits", () => {
  it("limits MCP per client (and user) after the bearer check", async () => {
    const server = await startTestServer({ RATE_LIMIT_MCP_PER_CLIENT: "2" });
    const security = collect(server, "security.event");
    const a = await mintAccessToken(server.services.prisma, server.env.APP_URL);
    const b = await mintAccessToken(server.services.prisma, server.env.APP_URL);
    const as = (token: string) => () => rawMcpPost(server.url, INITIALIZE, { Authorization: `Bearer ${token}` });
    expect(await statuses(3, as(a.token))).toEqual([200, 200, 429]);
    expect(await statuses(2, as(b.token))).toEqual([200, 200]);
    expect(security.find((e) => e.type === "RATE_LIMIT_EXCEEDED")).toMatchObject({
      clientId: a.clientDbId,
      userId: a.userId,
      details: { endpoint: "mcp", key: "client" },
    });
  });

  it("limits the token endpoint per client_id from the form body, Basic credentials or the query", async () => {
    const server = await startTestServer({ RATE_LIMIT_TOKEN_PER_CLIENT: "2", RATE_LIMIT_TOKEN_PER_IP: "100" });
    const form = (clientId: string) => () =>
      post(server, "/api/oauth/token", {
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ grant_type: "authorization_code", client_id: clientId }).toString(),
      });
    const basic = (clientId: string) => () =>
      post(server, "/api/oauth/token", {
        headers: {
          "Content-Type": "application/x-www-form-urlencoded",
          Authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:secret`).toString("base64")}`,
        },
        body: "grant_type=refresh_token",
      });
    const json = (clientId: string) => () =>
      post(server, "/api/oauth/token", { headers: { "Content-Type": "application/json" }, body: JSON.stringify({ client_id: clientId }) });
    const last = (codes: number[]) => codes.at(-1);
    expect(last(await statuses(3, form("client-a")))).toBe(429);
    expect(last(await statuses(3, basic("client-b")))).toBe(429);
    expect(last(await statuses(3, json("client-c")))).toBe(429);
    // Mixed carriers of one client_id share its budget.
    const mixed = [await form("client-d")(), await basic("client-d")(), await json("client-d")()].map((r) => r.status);
    expect(mixed[2]).toBe(429);
    expect((await form("client-e")()).status).not.toBe(429);
    // private_key_jwt without client_id (RFC 7523 §3): the assertion's sub names the client.
    const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const assertion = (sub: string) => () =>
      post(server, "/api/oauth/token", {
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "client_credentials",
          client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
          client_assertion: `${enc({ alg: "ES256" })}.${enc({ iss: sub, sub })}.c2ln`,
        }).toString(),
      });
    expect(last(await statuses(3, assertion("client-f")))).toBe(429);
    expect((await form("client-f")()).status).toBe(429);
    expect((await assertion("client-g")()).status).not.toBe(429);
  });

  it("limits authorization requests per client_id", async () => {
    const server = await startTestServer({ RATE_LIMIT_AUTHORIZE_PER_CLIENT: "1", RATE_LIMIT_AUTHORIZE_PER_IP: "100" });
    const authorize = (clientId: string) => () => fetch(`${server.url}/oauth/authorize?client_id=${clientId}&response_type=code`, { redirect: "manual" });
    expect((await statuses(2, authorize("client-x"))).at(-1)).toBe(429);
    expect((await authorize("client-y")()).status).not.toBe(429);
  });
});

describe("Limits shared through Redis", () => {
  it("two server instances sharing Redis share the limit", async () => {
    const prefix = redisTestPrefix("rate-limit-shared");
    const env = { REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: prefix, RATE_LIMIT_MCP_PER_IP: "4" };
    const a = await startTestServer(env);
    const b = await startTestServer(env, { database: a.database });
    expect(await a.services.redis!.waitUntilReady()).toBe(true);
    expect(await b.services.redis!.waitUntilReady()).toBe(true);
    const codes = [
      ...(await statuses(2, () => rawMcpPost(a.url, INITIALIZE))),
      ...(await statuses(2, () => rawMcpPost(b.url, INITIALIZE))),
      ...(await statuses(1, () => rawMcpPost(a.url, INITIALIZE))),
      ...(await statuses(1, () => rawMcpPost(b.url, INITIALIZE))),
    ];
    expect(codes).toEqual([401, 401, 401, 401, 429, 429]);
    const keys = await a.services.redis!.client().keys(`${prefix}rl:*`);
    expect(keys.length).toBeGreaterThan(0);
  });

  it("falls back to in-memory limits with a warning when Redis is down, never failing requests", async () => {
    const lines: string[] = [];
    const log = createLogger("warn", {
      destination: new Writable({
        write(chunk, _encoding, done) {
          lines.push(String(chunk));
          done();
        },
      }),
    });
    const closedPort = await freePort();
    const server = await startTestServer(
      { REDIS_URL: `redis://127.0.0.1:${closedPort}`, REDIS_KEY_PREFIX: redisTestPrefix("rate-limit-down"), RATE_LIMIT_MCP_PER_IP: "2" },
      { log },
    );
    const minted = await mintAccessToken(server.services.prisma, server.env.APP_URL);
    const started = performance.now();
    const codes = await statuses(3, () => rawMcpPost(server.url, INITIALIZE, { Authorization: `Bearer ${minted.token}` }));
    expect(codes).toEqual([200, 200, 429]);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(lines.join("\n")).toMatch(/rate limits are counted per node/);
  });
});
