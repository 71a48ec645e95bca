/**
 * What the authorization server needs, as its own small types (server/oauth never imports the wiring file,
 * server/services.ts): `OAuthDeps` for the endpoints' steps, built once by oauth-server.ts; `OAuthStoreDeps` (the
 * database and the event bus) for the grant, client and identity-provider functions that the console, the MCP admin
 * tools and the CLI call with whatever object they hold (Services and the CLI's AdminContext both satisfy it).
 */
import type pg from "pg";
import type { PrismaClient } from "../db/client.ts";
import type { Env } from "../env.ts";
import type { DomainEventBus, EventOrigin } from "../events.ts";
import type { Logger } from "../logger.ts";
import type { ClientAssertionVerifier } from "./client-assertion.ts";
import type { ClientRegistry } from "./clients.ts";
import type { DpopVerifier } from "./dpop-verifier.ts";
import type { KeySets } from "./key-sets.ts";
import type { ReplayCache } from "./replay-cache.ts";
import type { OAuthEvents } from "./emit.ts";

export interface OAuthDeps {
  env: Env;
  log: Logger;
  prisma: PrismaClient;
  /** The pool under Prisma, for the token endpoint's hot path (sql.ts). */
  pool: pg.Pool;
  /** The domain event bus (server/events.ts), as everywhere else; the endpoints emit through `emit`. */
  events: DomainEventBus;
  /** The authorization server's events, over `events` (emit.ts). */
  emit: OAuthEvents;
  clients: ClientRegistry;
  /** DPoP proofs at the token endpoint (dpop-token.ts). */
  dpop: DpopVerifier;
  /** `private_key_jwt` client authentication (RFC 7523 §2.2). */
  assertions: ClientAssertionVerifier;
  /** Public keys of machine clients and trusted identity providers (jwks / jwks_uri). */
  keySets: KeySets;
  /** Single use of JWT ids across nodes (client assertions, ID-JAGs). */
  replay: Pick<ReplayCache, "firstUse">;
}

/** The database and the event bus: what the grant and administration functions need. */
export type OAuthStoreDeps = Pick<OAuthDeps, "prisma" | "events">;

/** The database alone: the read-only listings. */
export type OAuthReadDeps = Pick<OAuthDeps, "prisma">;

/** Per-request facts an endpoint fills in for logs and analytics (the host's RequestMeta satisfies this). */
export interface OAuthRequestMeta {
  ip: string;
  userAgent: string | null;
  /** Client row id (Client.id) once known. */
  clientId?: string | null;
  userId?: string | null;
  oauthError?: string | null;
}

export function originOf(meta: OAuthRequestMeta): EventOrigin {
  return { clientId: meta.clientId ?? null, userId: meta.userId ?? null, ip: meta.ip, userAgent: meta.userAgent };
}
