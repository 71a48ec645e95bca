/**
 * The MCP resource server as one service (`services.mcp`): the bearer check with its token cache, revocation sync
 * across nodes, the MCP servers (long-lived connections and the SDK's entry), 2025-era Streamable HTTP sessions,
 * and both transports' endpoints.
 */
import type pg from "pg";
import type { Env } from "../env.ts";
import type { DomainEventBus } from "../events.ts";
import type { RateLimits } from "../request/rate-limit.ts";
import type { Logger } from "../logger.ts";
import type { RedisService } from "../redis.ts";
import type { PrismaClient } from "../db/client.ts";
import type { DpopVerifier } from "../oauth/dpop-verifier.ts";
import { BearerAuth } from "./bearer.ts";
import { syncRevocations, type RevocationSync } from "./revocation-sync.ts";
import { McpServers } from "./server.ts";
import { SessionStore } from "./sessions.ts";
import { SseEndpoint } from "./sse.ts";
import { StreamableHttpEndpoint } from "./streamable-http.ts";

export interface McpServiceDeps {
  env: Env;
  log: Logger;
  prisma: PrismaClient;
  /** The pool under Prisma: the bearer check's token lookup is a prepared statement (oauth/sql.ts). */
  pool: pg.Pool;
  events: DomainEventBus;
  redis: RedisService | null;
  rateLimits: RateLimits;
  /** DPoP proofs at the MCP endpoints (RFC 9449 §7), shared with the token endpoint. */
  dpop: DpopVerifier;
  /** Aborted when graceful shutdown begins: SSE streams end. */
  shutdown: AbortSignal;
}

export class McpService {
  readonly bearer: BearerAuth;
  readonly servers: McpServers;
  readonly sessions: SessionStore;
  readonly streamable: StreamableHttpEndpoint;
  readonly sse: SseEndpoint;
  /** Resolves once revocations from other nodes are being received. */
  readonly ready: Promise<unknown>;
  private readonly revocations: RevocationSync;

  constructor(deps: McpServiceDeps) {
    const { env, log, prisma, pool, events, redis, rateLimits, shutdown, dpop } = deps;
    this.bearer = new BearerAuth({ env, pool, events, log, dpop });
    this.servers = new McpServers({ env, prisma, events, log });
    this.sessions = new SessionStore({ redis, log }, env.MCP_SESSION_IDLE_SECONDS);
    this.streamable = new StreamableHttpEndpoint({ env, log, events, bearer: this.bearer, rateLimits, servers: this.servers, sessions: this.sessions });
    this.sse = new SseEndpoint({ env, log, events, redis, bearer: this.bearer, rateLimits, servers: this.servers, shutdown });
    this.revocations = syncRevocations(
      { events, redis, log },
      { invalidate: (ids) => this.bearer.invalidate(ids), clearAll: () => this.bearer.cache.clear() },
    );
    this.ready = this.revocations.ready;
  }

  async close(): Promise<void> {
    this.sse.closeAll();
    await Promise.all([this.revocations.stop(), this.servers.close()]);
  }
}
