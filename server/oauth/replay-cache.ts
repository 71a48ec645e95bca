/**
 * Single use of a JWT's `jti` across every node: DPoP proofs (RFC 9449 §11.1), client assertions (RFC 7523 §3
 * item 7) and identity assertions. An id counts once until its own expiry. With REDIS_URL the record is a Redis key
 * set with NX and a TTL (one round trip, no database write per request); without Redis, or while Redis is
 * unreachable, it is a row in `UsedJti` inserted only when absent or expired, so the rule holds on several nodes in
 * either case. Ids are stored as SHA-256 digests under their namespace.
 */
import { createHash } from "node:crypto";
import type pg from "pg";
import type { RedisService } from "../redis.ts";
import { query } from "./sql.ts";

export type ReplayNamespace = "dpop" | "client-assertion" | "id-jag";

export interface ReplayCacheDeps {
  redis: RedisService | null;
  pool: pg.Pool;
}

const FIRST_USE = `
INSERT INTO "UsedJti" (key, "expiresAt") VALUES ($1, $2::timestamp)
ON CONFLICT (key) DO UPDATE SET "expiresAt" = EXCLUDED."expiresAt" WHERE "UsedJti"."expiresAt" <= $3::timestamp
RETURNING key`;

export class ReplayCache {
  constructor(private readonly deps: ReplayCacheDeps) {}

  /** True the first time `id` is seen in `namespace` before `expiresAt` (ms); false for a replay. */
  async firstUse(namespace: ReplayNamespace, id: string, expiresAt: number, now = Date.now()): Promise<boolean> {
    const key = `${namespace}:${createHash("sha256").update(id, "utf8").digest("base64url")}`;
    const ttlMs = Math.max(1_000, Math.ceil(expiresAt - now));
    const { redis } = this.deps;
    if (redis?.isReady()) {
      try {
        const set = await redis.client().set(redis.key(`jti:${key}`), "1", "PX", ttlMs, "NX");
        return set === "OK";
      } catch {
        // Redis went away between the check and the call: the database keeps the rule.
      }
    }
    const rows = await query<{ key: string }>(this.deps.pool, FIRST_USE, [key, new Date(now + ttlMs), new Date(now)]);
    return rows.length === 1;
  }

  /** Deletes expired rows (the `oauth.sweep` job). */
  async sweep(now = new Date()): Promise<number> {
    const rows = await query<{ n: number }>(this.deps.pool, `WITH d AS (DELETE FROM "UsedJti" WHERE "expiresAt" < $1::timestamp RETURNING 1) SELECT count(*)::int AS n FROM d`, [now]);
    return rows[0]?.n ?? 0;
  }
}
