/**
 * Single use of a JWT id across nodes (RFC 9449 §11.1 DPoP proofs, RFC 7523 §3 client assertions): two nodes share
 * Redis when it is configured and the database otherwise, and either store refuses the second use until the JWT's
 * expiry, also when both nodes try at the same moment.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../server/logger.ts";
import { ReplayCache } from "../../server/oauth/replay-cache.ts";
import { createRedisService, type RedisService } from "../../server/redis.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { redisTestPrefix, TEST_REDIS_URL } from "../helpers/mcp.ts";

let database: TestDatabase;
let pool: pg.Pool;
let redis: RedisService;

beforeAll(async () => {
  database = await createTestDatabase();
  pool = new pg.Pool({ connectionString: database.url, max: 4 });
  redis = createRedisService(TEST_REDIS_URL, { prefix: redisTestPrefix("replay"), log: createLogger("silent") });
  await redis.waitUntilReady();
});

afterAll(async () => {
  await redis?.close();
  await pool?.end();
  await database?.drop();
});

describe.each([
  ["Redis", () => [new ReplayCache({ redis, pool }), new ReplayCache({ redis, pool })]],
  ["the database (no Redis)", () => [new ReplayCache({ redis: null, pool }), new ReplayCache({ redis: null, pool })]],
])("jti replay cache in %s", (_name, nodes) => {
  it("counts an id once across two nodes; namespaces are apart; concurrent first uses: exactly one wins", async () => {
    const [a, b] = nodes();
    const id = `jti-${Math.random()}`;
    const until = Date.now() + 60_000;
    expect(await a!.firstUse("dpop", id, until)).toBe(true);
    expect(await b!.firstUse("dpop", id, until)).toBe(false);
    expect(await a!.firstUse("dpop", id, until)).toBe(false);
    expect(await b!.firstUse("client-assertion", id, until)).toBe(true);
    const racing = `race-${Math.random()}`;
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? a! : b!).firstUse("dpop", racing, until)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it("an id may be used again once its JWT has expired", async () => {
    const [a, b] = nodes();
    const id = `exp-${Math.random()}`;
    const now = Date.now();
    expect(await a!.firstUse("dpop", id, now + 1_000, now)).toBe(true);
    expect(await b!.firstUse("dpop", id, now + 1_000, now + 500)).toBe(false);
    // Past the expiry (Redis: the key's TTL ran out; the database: the row is overwritten).
    if (_name === "Redis") await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect(await b!.firstUse("dpop", id, now + 60_000, now + 1_200)).toBe(true);
  });
});

it("Redis unreachable: the database keeps the rule", async () => {
  const down = createRedisService("redis://127.0.0.1:1", { prefix: redisTestPrefix("replay-down"), log: createLogger("silent") });
  try {
    const cache = new ReplayCache({ redis: down, pool });
    const id = `down-${Math.random()}`;
    expect(await cache.firstUse("dpop", id, Date.now() + 60_000)).toBe(true);
    expect(await new ReplayCache({ redis: null, pool }).firstUse("dpop", id, Date.now() + 60_000)).toBe(false);
    expect(await cache.sweep(new Date(Date.now() + 120_000))).toBeGreaterThan(0);
  } finally {
    await down.close();
  }
});
