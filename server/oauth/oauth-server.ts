/**
 * The authorization server as one service (`services.oauth`): discovery documents, the five endpoints (Fetch
 * `Request` in, `Response` out, so Remix resource routes stay thin adapters) and periodic cleanup. Everything else
 * (token lookup, grants, client administration) is a free function over the dependencies built here (deps.ts):
 * one way into each, called alike by production code and tests.
 *
 * Each endpoint fills the request's meta (clientId = Client.id, userId, oauthError) for logs and analytics and maps
 * every failure through respond.ts. Events come from emit.ts.
 */
import { sweepExpired } from "./expired-sweep.ts";
import type { SessionUser } from "../auth/session-user.ts";
import type { Database } from "../db/client.ts";
import { ClientAssertionVerifier } from "./client-assertion.ts";
import { ClientCache } from "./client-cache.ts";
import { ClientRegistry } from "./clients.ts";
import { KeySets } from "./key-sets.ts";
import { originOf, type OAuthDeps, type OAuthRequestMeta } from "./deps.ts";
import { OAuthEvents } from "./emit.ts";
import { OAuthError } from "./errors.ts";
import { AuthorizationEndpoint, type AuthorizeOutcome } from "./authorize.ts";
import { handleIntrospectionRequest } from "./introspection-endpoint.ts";
import { METADATA_CACHE_CONTROL, OAUTH_PATHS, authorizationServerMetadata, protectedResourceMetadata } from "./metadata.ts";
import { MetadataDocumentFetcher } from "./metadata-documents.ts";
import { handleRegistrationRequest } from "./registration-endpoint.ts";
import { toResponse, type OAuthHttpRequest, type OAuthReply } from "./endpoint-http.ts";
import { errorReply, isDatabaseUnavailable, jsonReply, jsonResponse, NO_STORE, toOAuthError } from "./respond.ts";
import { handleRevocationRequest } from "./revocation-endpoint.ts";
import type { GuardedFetchOptions } from "./ssrf-guard.ts";
import { handleTokenRequest } from "./token-endpoint.ts";

export interface OAuthServerOptions {
  /** Client ID Metadata Document fetching (tests inject the resolver/transport: the outside world). */
  metadataFetch?: GuardedFetchOptions;
  /** Which tools a scope lets a client call (the consent page says what new scopes are for); from the MCP side. */
  scopeUsage?: (scope: string) => string[];
}

/** What the host hands the authorization server; it builds its `OAuthDeps` from these once. */
export type OAuthServerDeps = Pick<OAuthDeps, "env" | "log" | "prisma" | "events" | "dpop" | "replay"> & { db: Pick<Database, "pool"> };

export interface SweepResult {
  clients: number;
  codes: number;
  accessTokens: number;
  refreshTokens: number;
  grants: number;
}

export class OAuthServer {
  readonly clients: ClientRegistry;
  /** Client rows between requests, emptied by the database's change notifications; started by the host. */
  readonly clientCache: ClientCache;
  readonly metadataDocuments: MetadataDocumentFetcher;
  /** JWK Sets of machine clients and trusted identity providers (tests point it at a fake internet). */
  readonly keySets: KeySets;
  private readonly deps: OAuthDeps;
  private readonly authorization: AuthorizationEndpoint;
  private readonly realm: string;

  constructor(services: OAuthServerDeps, options: OAuthServerOptions = {}) {
    this.metadataDocuments = new MetadataDocumentFetcher(options.metadataFetch);
    this.keySets = new KeySets(options.metadataFetch);
    const emit = new OAuthEvents(services.events);
    this.clientCache = new ClientCache({ pool: services.db.pool, log: services.log, events: services.events });
    this.clients = new ClientRegistry({
      cache: this.clientCache,
      prisma: services.prisma,
      pool: services.db.pool,
      env: services.env,
      metadataDocuments: this.metadataDocuments,
      onMetadataDocumentClient: (client) => emit.clientRegistered(client.id, "metadata_document"),
    });
    this.deps = {
      env: services.env,
      log: services.log,
      prisma: services.prisma,
      pool: services.db.pool,
      events: services.events,
      emit,
      clients: this.clients,
      dpop: services.dpop,
      keySets: this.keySets,
      replay: services.replay,
      assertions: new ClientAssertionVerifier({
        issuer: services.env.APP_URL,
        tokenEndpoint: services.env.APP_URL + OAUTH_PATHS.token,
        keySets: this.keySets,
        replay: services.replay,
      }),
    };
    this.authorization = new AuthorizationEndpoint(this.deps, options.scopeUsage);
    this.realm = services.env.APP_URL;
  }

  // ---- Discovery -------------------------------------------------------------------------------------------

  /** RFC 8414 metadata (also served at /.well-known/openid-configuration). */
  authorizationServerMetadata(): Response {
    return jsonResponse(authorizationServerMetadata(this.deps.env.APP_URL), { cache: METADATA_CACHE_CONTROL });
  }

  /** RFC 9728 metadata of the resource at `resourcePath` ("" = root, "/mcp", "/mcp/mcp", "/mcp/sse"); 404 otherwise. */
  protectedResourceMetadata(resourcePath: string): Response {
    const document = protectedResourceMetadata(this.deps.env.APP_URL, resourcePath, { dpopRequired: this.deps.env.MCP_DPOP_REQUIRED });
    if (!document) return jsonResponse({ error: "not_found", error_description: "no protected resource at this path" }, { status: 404 });
    return jsonResponse(document, { cache: METADATA_CACHE_CONTROL });
  }

  // ---- Endpoints ---------------------------------------------------------------------------------------------

  /** POST /api/oauth/register (RFC 7591). */
  register(request: Request, meta: OAuthRequestMeta): Promise<Response> {
    return this.reply("register", request, meta).then(toResponse);
  }

  /** POST /api/oauth/token (RFC 6749 §3.2). */
  token(request: Request, meta: OAuthRequestMeta): Promise<Response> {
    return this.reply("token", request, meta).then(toResponse);
  }

  /** POST /api/oauth/revoke (RFC 7009). */
  revoke(request: Request, meta: OAuthRequestMeta): Promise<Response> {
    return this.reply("revoke", request, meta).then(toResponse);
  }

  /** POST /api/oauth/introspect (RFC 7662). */
  introspect(request: Request, meta: OAuthRequestMeta): Promise<Response> {
    return this.reply("introspect", request, meta).then(toResponse);
  }

  /**
   * One of the POST endpoints, answered as plain data: the Remix routes above turn it into a Response, the host's
   * fast path (server/http/oauth-routes.ts) writes it as it is.
   */
  reply(name: OAuthPostEndpoint, request: OAuthHttpRequest, meta: OAuthRequestMeta): Promise<OAuthReply> {
    switch (name) {
      case "register":
        return this.endpoint("register", request, meta, async () => {
          const { body, clientDbId } = await handleRegistrationRequest(this.deps, request);
          meta.clientId = clientDbId;
          return jsonReply(body, { status: 201 });
        });
      case "token": {
        const seen: { grantType?: string } = {};
        return this.endpoint(
          "token",
          request,
          meta,
          async (origin) => {
            const { response, headers } = await handleTokenRequest(this.deps, request, origin, seen);
            return jsonReply(response, { headers });
          },
          seen,
        );
      }
      case "revoke":
        return this.endpoint("revoke", request, meta, async (origin) => {
          await handleRevocationRequest(this.deps, request, origin);
          return { status: 200, headers: { ...NO_STORE }, body: null };
        });
      case "introspect":
        return this.endpoint("introspect", request, meta, async (origin) => jsonReply(await handleIntrospectionRequest(this.deps, request, origin)));
    }
  }

  /**
   * GET/POST /oauth/authorize. The route signs the person in when the outcome is `login`, renders `consent` and
   * `error-page`, and follows `redirect`. `user` finds the signed-in person (called only for a valid request). An
   * unreachable database is a local 503 page (the redirect URI cannot be validated without it).
   */
  async authorize(
    request: Request,
    meta: OAuthRequestMeta,
    options: { user: () => Promise<SessionUser | null>; decision?: "allow" | "deny" },
  ): Promise<AuthorizeOutcome> {
    if (!atPublishedPath(request, OAUTH_PATHS.authorization)) {
      return { kind: "error-page", status: 404, error: "invalid_request", description: "There is no authorization endpoint at this address." };
    }
    const origin = originOf(meta);
    try {
      const outcome = await this.authorization.handle(new URL(request.url), origin, options.user, options.decision);
      if (outcome.kind === "error-page" || (outcome.kind === "redirect" && outcome.error)) {
        meta.oauthError = outcome.error;
      }
      return outcome;
    } catch (thrown) {
      if (thrown instanceof Response || !isDatabaseUnavailable(thrown)) throw thrown;
      this.deps.log.warn({ endpoint: "authorize" }, "database unavailable during an authorization request");
      meta.oauthError = "temporarily_unavailable";
      return {
        kind: "error-page",
        status: 503,
        error: "temporarily_unavailable",
        description: "The service is temporarily unavailable. Please try again in a moment.",
      };
    } finally {
      meta.clientId = origin.clientId ?? meta.clientId ?? null;
      meta.userId = origin.userId ?? meta.userId ?? null;
    }
  }

  /** The answer to a GET on a POST-only endpoint. */
  methodNotAllowed(): Response {
    return jsonResponse({ error: "invalid_request", error_description: "use POST" }, { status: 405, headers: { Allow: "POST, OPTIONS" } });
  }

  private async endpoint(
    name: OAuthPostEndpoint,
    request: OAuthHttpRequest,
    meta: OAuthRequestMeta,
    run: (origin: ReturnType<typeof originOf>) => Promise<OAuthReply>,
    seen: { grantType?: string } = {},
  ): Promise<OAuthReply> {
    if (!atPublishedPath(request, ENDPOINT_PATHS[name])) return notFound();
    const origin = originOf(meta);
    try {
      return await run(origin);
    } catch (thrown) {
      const error = toOAuthError(thrown, this.deps.log, { endpoint: name });
      meta.oauthError = error.error;
      if (name === "token") this.deps.emit.grantError(origin, error, seen.grantType);
      else if (error.security) this.deps.emit.security(origin, error.security);
      if (error.status < 500) this.deps.log.debug({ endpoint: name, error: error.error, reason: error.reason }, "oauth request refused");
      return errorReply(error, this.realm);
    } finally {
      meta.clientId = origin.clientId ?? meta.clientId ?? null;
      meta.userId = origin.userId ?? meta.userId ?? null;
    }
  }

  // ---- Maintenance -------------------------------------------------------------------------------------------

  /**
   * Periodic cleanup: unused registrations (UNUSED_CLIENT_RETENTION_HOURS), codes and tokens a day past expiry
   * (redeemed codes are kept that long so late reuse is still detected), grants with nothing left, and sealed
   * successor responses once the reuse grace window is over, in bounded slices (expired-sweep.ts).
   */
  async sweep(now = new Date(), options: { slice?: number } = {}): Promise<SweepResult> {
    const { env } = this.deps;
    const clients = await this.clients.sweepUnused(now);
    this.deps.emit.clientsSwept(clients);
    const swept = await sweepExpired(this.deps.pool, { now, reuseGraceSeconds: env.REFRESH_TOKEN_REUSE_GRACE_SECONDS, slice: options.slice });
    return { clients, codes: swept.codes, accessTokens: swept.accessTokens, refreshTokens: swept.refreshTokens, grants: swept.grants };
  }
}

export { OAuthError };

/** The POST endpoints at their published paths (RFC 8414 metadata). */
export const ENDPOINT_PATHS = {
  register: OAUTH_PATHS.registration,
  token: OAUTH_PATHS.token,
  revoke: OAUTH_PATHS.revocation,
  introspect: OAUTH_PATHS.introspection,
} as const;

export type OAuthPostEndpoint = keyof typeof ENDPOINT_PATHS;

/**
 * Whether a request came in at the exact path this server publishes (RFC 8414 metadata). The router also matches
 * other spellings (case-insensitive, trailing slash, percent-encoded letters); the rate limiter counts requests by
 * the path, so an endpoint that answered those spellings would give each one a fresh budget. They get a 404.
 */
function atPublishedPath(request: Pick<OAuthHttpRequest, "url">, path: string): boolean {
  return new URL(request.url).pathname === path;
}

function notFound(): OAuthReply {
  return jsonReply({ error: "invalid_request", error_description: "no OAuth endpoint at this path" }, { status: 404 });
}
