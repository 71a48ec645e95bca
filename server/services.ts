/**
 * The process's services, built once from the parsed configuration and handed to every request (Remix load
 * context, tRPC context, host routes). Nothing here is a module-level singleton, so tests can run several servers
 * side by side in one process, each on its own database.
 */
import { sweepExpiredSessions } from "./oauth/expired-sweep.ts";
import { createDatabase, type Database, type PrismaClient } from "./db/client.ts";
import type { Env } from "./env.ts";
import { DomainEventBus } from "./events.ts";
import type { Logger } from "./logger.ts";
import { JobRunner } from "./jobs.ts";
import { PeopleAuth } from "./auth/people.ts";
import { Csrf } from "./auth/csrf.ts";
import { createTrpcService, type TrpcService } from "./trpc/http.ts";
import { createAnalytics, type Analytics } from "./analytics/index.ts";
import { createReporting, type Reporting } from "./reporting/index.ts";
import { createRedisService, type RedisService } from "./redis.ts";
import { RateLimits } from "./request/rate-limit.ts";
import { McpService } from "./mcp/service.ts";
import { toolsNeeding } from "./mcp/tool-scopes.ts";
import { OAuthServer } from "./oauth/oauth-server.ts";
import { DpopVerifier } from "./oauth/dpop-verifier.ts";
import { ReplayCache } from "./oauth/replay-cache.ts";

export interface Services {
  env: Env;
  log: Logger;
  db: Database;
  prisma: PrismaClient;
  events: DomainEventBus;
  jobs: JobRunner;
  /** People signing in to this app (sessions, roles). */
  auth: PeopleAuth;
  /** Double-submit CSRF tokens for our HTML forms. */
  csrf: Csrf;
  /** The admin/account API: /api/trpc/* handler and in-process callers for Remix loaders. */
  trpc: TrpcService;
  /** Metrics, analytics rows, traces (server/analytics): the domain emits events, this records them. */
  analytics: Analytics;
  /** The reporting API over the analytics tables (server/reporting): /api/analytics*, for administrators. */
  reporting: Reporting;
  /** The shared Redis when REDIS_URL is set (connections made lazily; never fatal when Redis is down). */
  redis: RedisService | null;
  /** Per-IP and per-client rate limits (server/request/rate-limit.ts). */
  rateLimits: RateLimits;
  /** The MCP resource server: bearer check, token cache, MCP server pool, transports (server/mcp). */
  mcp: McpService;
  /** The OAuth 2.1 authorization server (server/oauth): discovery, register, authorize, token, revoke, introspect. */
  oauth: OAuthServer;
  /** Single use of JWT ids across nodes: DPoP proofs, client assertions (server/oauth/replay-cache.ts). */
  replay: ReplayCache;
  /** DPoP proofs (RFC 9449) at the token endpoint and the MCP endpoints. */
  dpop: DpopVerifier;
  /** Aborted when a graceful shutdown begins: long-lived streams (SSE) end themselves on it. */
  shutdown: AbortSignal;
  beginShutdown(): void;
  /** Registers a close step; steps run in reverse order of registration. */
  onClose(step: () => Promise<void> | void): void;
  close(): Promise<void>;
}

export async function createServices(env: Env, options: { log: Logger; databaseUrl: string }): Promise<Services> {
  const { log } = options;
  const db = createDatabase(options.databaseUrl);
  const events = new DomainEventBus();
  const closers: Array<() => Promise<void> | void> = [() => db.close()];
  const jobs = new JobRunner(log);
  const shutdown = new AbortController();
  closers.push(() => jobs.stop());

  const auth = new PeopleAuth({ env, prisma: db.prisma, log });
  jobs.every("sessions.cleanup", 15 * 60_000, async () => {
    const deleted = await sweepExpiredSessions(db.pool);
    if (deleted) events.emit("session.cleanup", { deleted });
  });

  const analytics = createAnalytics({ env, log, db, events, jobs });
  closers.push(() => analytics.close());

  const redis = env.REDIS_URL ? createRedisService(env.REDIS_URL, { prefix: env.REDIS_KEY_PREFIX, log }) : null;
  if (redis) closers.push(() => redis.close());
  const rateLimits = new RateLimits({ env, log, events, redis });
  const replay = new ReplayCache({ redis, pool: db.pool });
  const dpop = new DpopVerifier({ env, replay });
  const mcp = new McpService({ env, log, prisma: db.prisma, pool: db.pool, events, redis, rateLimits, dpop, shutdown: shutdown.signal });
  closers.push(() => mcp.close());
  const reporting = createReporting({ auth, bearer: mcp.bearer, prisma: db.prisma, recorder: analytics.recorder });

  const oauth = new OAuthServer({ env, log, prisma: db.prisma, db, events, dpop, replay }, { scopeUsage: toolsNeeding });
  await oauth.clientCache.start();
  closers.push(() => oauth.clientCache.stop());
  jobs.every("oauth.sweep", 15 * 60_000, async () => {
    await oauth.sweep();
    await replay.sweep();
  });

  const services: Services = {
    env,
    oauth,
    replay,
    dpop,
    analytics,
    reporting,
    redis,
    rateLimits,
    mcp,
    auth,
    csrf: new Csrf(env),
    trpc: createTrpcService(() => services),
    log,
    db,
    prisma: db.prisma,
    events,
    jobs,
    shutdown: shutdown.signal,
    beginShutdown: () => shutdown.abort(),
    onClose(step) {
      closers.push(step);
    },
    async close() {
      shutdown.abort();
      for (const step of closers.splice(0).reverse()) {
        try {
          await step();
        } catch (error) {
          log.warn({ err: error }, "error while closing a service");
        }
      }
    },
  };
  return services;
}
