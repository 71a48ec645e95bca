/**
 * Faults: Redis goes away (cut, or stalled by a partition) under two nodes that share it, behind the test TCP
 * proxy, and comes back. Meanwhile: requests answer without waiting on Redis; rate limits fall back to each node's
 * memory (and still limit); a revocation on one node still reaches the other within the token-cache lifetime
 * (MCP_TOKEN_CACHE_SECONDS: the other node's cache entry expires and the database says "revoked"). Once Redis is
 * back, revocations reach the other node at once again and the limits are shared again, without a restart.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { revokeGrant } from "../../server/oauth/grants.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.ts";
import { mintAccessToken } from "../helpers/tokens.ts";
import { INITIALIZE, MCP_ACCEPT, redisTestPrefix, TEST_REDIS_URL, toolsCall } from "../helpers/mcp.ts";
import { eventually, sleep, timed } from "./support.ts";

const CACHE_SECONDS = 2;
const MCP_LIMIT = 6;

let proxy: TcpProxy;
let a: TestServer;
let b: TestServer;

beforeAll(async () => {
  const real = new URL(TEST_REDIS_URL);
  proxy = await startTcpProxy({ host: real.hostname, port: Number(real.port || 6379) });
  const env = {
    REDIS_URL: proxy.urlFor(TEST_REDIS_URL),
    REDIS_KEY_PREFIX: redisTestPrefix("redis-outage"),
    MCP_TOKEN_CACHE_SECONDS: String(CACHE_SECONDS),
    RATE_LIMIT_MCP_PER_CLIENT: String(MCP_LIMIT),
  };
  a = await startTestServer(env);
  b = await startTestServer({ ...env, APP_URL: a.env.APP_URL }, { database: a.database });
  await Promise.all([a.services.mcp.ready, b.services.mcp.ready]);
  expect(await a.services.redis!.waitUntilReady()).toBe(true);
  expect(await b.services.redis!.waitUntilReady()).toBe(true);
});

afterAll(async () => {
  await proxy?.close();
});

function call(node: TestServer, token: string, body: unknown = toolsCall("whoami")) {
  return timed(`${node.url}/mcp/mcp`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", accept: MCP_ACCEPT },
    body: JSON.stringify(body),
  });
}

/**
 * Caches a token on `other`, revokes its grant on `origin`, and measures how long `other` still accepts it.
 * Resolves the delay in ms, or null if it was still accepted after `withinMs`.
 */
async function revocationDelay(origin: TestServer, other: TestServer, withinMs: number): Promise<number | null> {
  const minted = await mintAccessToken(origin.services.prisma, origin.env.APP_URL);
  expect((await call(other, minted.token, INITIALIZE)).status).toBe(200);
  await revokeGrant(origin.services, minted.grantId, "test");
  const started = performance.now();
  expect((await call(origin, minted.token)).status).toBe(401);
  while (performance.now() - started < withinMs) {
    if ((await call(other, minted.token)).status === 401) return performance.now() - started;
    await sleep(20);
  }
  return null;
}

/** `count` MCP calls of one new client, alternating between the nodes; the statuses. */
async function burst(count: number, nodes: TestServer[]): Promise<{ statuses: number[]; slowestMs: number }> {
  const minted = await mintAccessToken(a.services.prisma, a.env.APP_URL);
  const statuses: number[] = [];
  let slowestMs = 0;
  for (let i = 0; i < count; i++) {
    const res = await call(nodes[i % nodes.length], minted.token);
    statuses.push(res.status);
    slowestMs = Math.max(slowestMs, res.ms);
  }
  return { statuses, slowestMs };
}

async function redisBack(): Promise<void> {
  await eventually("Redis ready on both nodes", 15_000, async () =>
    a.services.redis!.isReady() && b.services.redis!.isReady() ? true : undefined,
  );
  // The subscriber connection reconnects on its own schedule: wait until a revocation crosses over again.
  const { value } = await eventually("revocations crossing nodes again", 20_000, async () => (await revocationDelay(a, b, 500)) ?? undefined, 100);
  console.info(`after restore: revocation reached the other node in ${value.toFixed(1)} ms`);
  expect(value).toBeLessThan(1_000);
}

describe.each([
  ["cut", () => proxy.cut()],
  ["stalled", () => proxy.stall()],
] as const)("Redis %s under two nodes", (mode, breakIt) => {
  it("limits fall back to memory, revocations arrive within the cache lifetime, sync resumes on restore", async () => {
    // Shared while Redis is up: the limit counts the client's calls on both nodes together.
    const shared = await burst(MCP_LIMIT + 1, [a, b]);
    expect(shared.statuses.slice(0, MCP_LIMIT)).toEqual(Array(MCP_LIMIT).fill(200));
    expect(shared.statuses[MCP_LIMIT]).toBe(429);
    const before = await revocationDelay(a, b, 1_000);
    expect(before).not.toBeNull();

    breakIt();
    try {
      // Each node limits from its own memory: still a limit, counted per node; no request waits on Redis long.
      const alone = await burst(MCP_LIMIT + 1, [a]);
      expect(alone.statuses.slice(0, MCP_LIMIT)).toEqual(Array(MCP_LIMIT).fill(200));
      expect(alone.statuses[MCP_LIMIT]).toBe(429);
      // Never waiting on Redis: a cut answers from memory at once, a stall costs the 500 ms command timeout per
      // Redis step; the rest is margin for a busy machine.
      expect(alone.slowestMs).toBeLessThan(mode === "cut" ? 2_000 : 3_000);
      // A revocation cannot be broadcast: the other node refuses the token once its cache entry expires.
      const delay = await revocationDelay(a, b, CACHE_SECONDS * 1000 + 1_500);
      console.info(
        `Redis ${mode}: slowest MCP call ${alone.slowestMs.toFixed(0)} ms; revocation reached the other node after ${delay?.toFixed(0)} ms (cache lifetime ${CACHE_SECONDS} s)`,
      );
      expect(delay).not.toBeNull();
      expect(delay!).toBeLessThan(CACHE_SECONDS * 1000 + 1_500);
    } finally {
      proxy.restore();
    }
    await redisBack();
    const again = await burst(MCP_LIMIT + 1, [a, b]);
    expect(again.statuses.slice(0, MCP_LIMIT)).toEqual(Array(MCP_LIMIT).fill(200));
    expect(again.statuses[MCP_LIMIT]).toBe(429);
  });
});
