/**
 * What the operator's admin commands (`clients …`, `idp …`) run against: the server's own database, found from the
 * same environment as the server (`.env`, DATABASE_URL, or the embedded database in DATA_DIR — attached to when the
 * server is running), and an event bus. With REDIS_URL, revocations are published as the server publishes them, so a
 * client disabled here stops working on every running node at once (server/mcp/revocation-sync.ts); without Redis,
 * a running server drops cached tokens within MCP_TOKEN_CACHE_SECONDS.
 */
import { createDatabase, type PrismaClient } from "../db/client.ts";
import { startEmbeddedPostgres } from "../db/embedded.ts";
import { DomainEventBus } from "../events.ts";
import { parseEnv, type Env } from "../env.ts";
import { createLogger } from "../logger.ts";
import { broadcastRevocation } from "../mcp/revocation-sync.ts";
import { createRedisService } from "../redis.ts";

export interface AdminContext {
  env: Env;
  prisma: PrismaClient;
  events: DomainEventBus;
  close(): Promise<void>;
}

export async function openAdminContext(source: NodeJS.ProcessEnv = process.env): Promise<AdminContext> {
  await import("dotenv/config");
  const env = parseEnv(source);
  // Commands print their own results; the server's logs would only get in the way.
  const log = createLogger("warn");
  const embedded = env.DATABASE_URL ? undefined : await startEmbeddedPostgres(env.DATA_DIR, log);
  const db = createDatabase(env.DATABASE_URL ?? embedded!.url, { max: 2 });
  const events = new DomainEventBus();
  const redis = env.REDIS_URL ? createRedisService(env.REDIS_URL, { prefix: env.REDIS_KEY_PREFIX, log }) : null;
  const published: Array<Promise<number>> = [];
  // The connection has no offline queue: wait until it is ready before publishing (false after 2 s: Redis down).
  if (redis) events.on("oauth.revocation", (ids) => published.push(redis.waitUntilReady().then(() => broadcastRevocation(redis, ids))));
  return {
    env,
    prisma: db.prisma,
    events,
    async close() {
      await Promise.all(published);
      await redis?.close();
      await db.close();
      await embedded?.stop();
    },
  };
}
