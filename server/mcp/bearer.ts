/**
 * The MCP endpoints' bearer check (RFC 6750, MCP 2025-11-25 Authorization §"Access Token Usage").
 *
 * - The token comes from the `Authorization` header only (RFC 6750 §2.1); tokens in the query string are refused
 *   (MCP: "Access tokens MUST NOT be included in the URI query string"; RFC 6750 §2.3 is not supported).
 * - It is looked up by its SHA-256 digest (only digests are stored), then must be unexpired, unrevoked, in an
 *   unrevoked grant, of an enabled client, and issued for a resource that covers the endpoint (RFC 8707 audience).
 * - Failures map to RFC 6750 §3: no credentials -> 401 with `resource_metadata` (RFC 9728 §5.1) and no error code;
 *   bad token -> 401 `error="invalid_token"` plus an INVALID_TOKEN security event; missing scope -> 403
 *   `error="insufficient_scope"` with the `scope` needed (RFC 6750 §3.1, MCP step-up authorization). 401s name the
 *   endpoint's `scope` too, so a client knows what to ask for (MCP 2026-07-28 Authorization §"Scope Selection").
 *
 * - DPoP (RFC 9449 §7): `Authorization: DPoP <token>` with a `DPoP` proof (dpop-verifier.ts: signature by the key the
 *   token is bound to, `htm`/`htu` of this request, `ath` of this token, a nonce when DPOP_NONCE=all, single use).
 *   A DPoP-bound token sent as `Bearer` is refused (§7.2), and so is any Bearer token when MCP_DPOP_REQUIRED.
 *   Refusals answer with a `DPoP` challenge (`algs`, the error, `resource_metadata`) and an INVALID_DPOP_PROOF event.
 *
 * - The database unreachable (db/availability.ts) -> 503 `server_error` with `Retry-After`, as the OAuth endpoints
 *   answer (RFC 9110 §15.6.4): the client retries later instead of seeing a 500 or a bogus invalid_token.
 *
 * Verified tokens are cached briefly (token-cache.ts); `oauth.revocation` events drop them at once, on every node
 * when Redis is configured (revocation-sync.ts). A cached token keeps working through a database outage.
 */
import type { AuthInfo } from "@modelcontextprotocol/server";
import type pg from "pg";
import { SecretPrefix, sha256Hex } from "../crypto.ts";
import { DATABASE_RETRY_AFTER_SECONDS, DATABASE_UNAVAILABLE_TEXT, isDatabaseUnavailable, summariseError } from "../db/availability.ts";
import { bearerChallenge } from "../oauth/challenges.ts";
import { DPOP_SIGNING_ALGS, DpopError } from "../oauth/dpop.ts";
import type { DpopVerifier } from "../oauth/dpop-verifier.ts";
import { ENDPOINT_SCOPES, missingScopes } from "../oauth/scopes.ts";
import { audienceCovers, protectedResourceMetadataUrl, resourceIdentifiers, resourceOf, type McpEndpoint, type ResourceIdentifiers } from "../oauth/resources.ts";
import { lookupAccessToken, type AccessTokenRefusal } from "../oauth/tokens.ts";
import type { Role } from "../db/client.ts";
import type { Env } from "../env.ts";
import type { DomainEventBus, EventOrigin } from "../events.ts";
import type { Logger } from "../logger.ts";
import { TokenCache, type RevocationIds } from "./token-cache.ts";

/**
 * Who is calling: the verified token, its user and its client. Never holds the token itself. A machine client's
 * token (client_credentials, OAuth 2.1 §4.2) has no user: `userId`, `email` and `role` are null and the client acts
 * as itself, with the scopes an admin allowed it.
 */
export interface McpCaller {
  tokenId: string;
  grantId: string;
  userId: string | null;
  email: string | null;
  name: string | null;
  role: Role | null;
  /** Client row id. */
  clientDbId: string;
  /** Public `client_id`. */
  clientId: string;
  clientName: string;
  scopes: string[];
  resource: string;
  expiresAt: Date;
  /** RFC 9449 `cnf.jkt` of a DPoP-bound token, else null. */
  dpopJkt: string | null;
}

/**
 * One client acting for one person: the key of the per-client MCP rate limit, which both transports must count
 * under the same name, and of the SSE stream bound.
 */
export function callerKey(caller: McpCaller): string {
  return caller.clientDbId + ":" + (caller.userId ?? "client");
}

/** An HTTP answer to a failed bearer check, independent of Express or Fetch. */
export interface BearerFailure {
  status: 400 | 401 | 403 | 503;
  error?: "invalid_request" | "invalid_token" | "insufficient_scope" | "server_error" | "invalid_dpop_proof" | "use_dpop_nonce";
  description: string;
  headers: Record<string, string>;
  body: { error: string; error_description: string };
}

export type BearerResult = { ok: true; caller: McpCaller } | { ok: false; failure: BearerFailure };

export interface BearerRequest {
  authorization: string | null | undefined;
  /** The request URL (only its query string is looked at). */
  url: URL | string;
  endpoint: McpEndpoint;
  /** Scopes the request needs (all of them). */
  requiredScopes: readonly string[];
  origin: EventOrigin;
  /** What a DPoP proof must name (RFC 9449 §4.3): the request's `DPoP` headers, method and public URL. */
  dpop?: { proofs: readonly string[]; method: string; url: string };
}

/** RFC 6750 §2.1 and RFC 9449 §7.1: the scheme (`Bearer` or `DPoP`) and a b64token. */
const CREDENTIALS = /^(Bearer|DPoP) +([A-Za-z0-9\-._~+/]+=*) *$/i;
const MAX_TOKEN_LENGTH = 512;
type Scheme = "Bearer" | "DPoP";

type InvalidReason =
  | AccessTokenRefusal
  | "malformed"
  | "audience"
  | "dpop_bound_as_bearer"
  | "not_dpop_bound"
  | "bearer_not_accepted";

export class BearerAuth {
  readonly cache: TokenCache<McpCaller>;
  private readonly resources: ResourceIdentifiers;

  constructor(private readonly services: { env: Env; pool: pg.Pool; events: DomainEventBus; log: Logger; dpop: DpopVerifier }) {
    this.cache = new TokenCache<McpCaller>(services.env.MCP_TOKEN_CACHE_SECONDS * 1000);
    this.resources = resourceIdentifiers(services.env.APP_URL);
  }

  /** Drops cached tokens named by a revocation. */
  invalidate(ids: RevocationIds): number {
    return this.cache.invalidate(ids);
  }

  /**
   * Checks the request's bearer token. Answers synchronously when the token is cached (the hot path: no promise, no
   * extra turn of the microtask queue); a cache miss looks the token up in the database.
   */
  authenticate(request: BearerRequest): BearerResult | Promise<BearerResult> {
    const { endpoint, origin } = request;
    if (hasQueryToken(request.url)) {
      // Not a credential we accept; say so rather than treating the request as anonymous.
      this.recordInvalid(origin, endpoint, "query_string");
      return this.fail(endpoint, 400, "invalid_request", "Access tokens are accepted only in the Authorization header");
    }
    const header = request.authorization?.trim();
    const scheme = header ? /^(bearer|dpop)(\s|$)/i.exec(header)?.[1] : undefined;
    if (!header || !scheme) {
      // RFC 6750 §3.1: a request without authentication information gets no error code.
      return this.fail(endpoint, 401, undefined, "Authorization required", undefined, this.services.env.MCP_DPOP_REQUIRED ? "DPoP" : "Bearer");
    }
    const dpop = scheme.toLowerCase() === "dpop";
    const match = CREDENTIALS.exec(header);
    const token = match?.[2];
    if (!token || token.length > MAX_TOKEN_LENGTH || !token.startsWith(SecretPrefix.accessToken)) {
      return this.invalid(origin, endpoint, "malformed", undefined, dpop ? "DPoP" : "Bearer");
    }
    if (!dpop && this.services.env.MCP_DPOP_REQUIRED) return this.invalid(origin, endpoint, "bearer_not_accepted", undefined, "DPoP");

    const digest = sha256Hex(token);
    const now = Date.now();
    const cached = this.cache.get(digest, now);
    return cached ? this.check(request, cached, now, dpop ? token : undefined) : this.lookupAndCheck(request, digest, now, dpop ? token : undefined);
  }

  private async lookupAndCheck(request: BearerRequest, digest: string, now: number, dpopToken: string | undefined): Promise<BearerResult> {
    const generation = this.cache.generation;
    let looked: McpCaller | InvalidReason;
    try {
      looked = await this.lookup(digest, now);
    } catch (error) {
      if (!isDatabaseUnavailable(error)) throw error;
      return this.unavailable(error);
    }
    if (typeof looked === "string") return this.invalid(request.origin, request.endpoint, looked, undefined, dpopToken ? "DPoP" : "Bearer");
    this.cache.set(digest, looked, generation, now);
    return this.check(request, looked, now, dpopToken);
  }

  /**
   * What a verified token must also satisfy at this endpoint: unexpired, the audience, the proof of possession when
   * it is DPoP-bound (RFC 9449 §7), the scopes. `dpopToken` is the token when it came with the DPoP scheme.
   */
  private check(request: BearerRequest, caller: McpCaller, now: number, dpopToken?: string): BearerResult | Promise<BearerResult> {
    const { endpoint, origin } = request;
    const scheme: Scheme = dpopToken || caller.dpopJkt ? "DPoP" : "Bearer";
    if (caller.expiresAt.getTime() <= now) return this.invalid(origin, endpoint, "expired", caller, scheme);
    if (!audienceCovers(caller.resource, this.resources[endpoint], this.resources)) {
      return this.invalid(origin, endpoint, "audience", caller, scheme);
    }
    if (caller.dpopJkt && !dpopToken) return this.invalid(origin, endpoint, "dpop_bound_as_bearer", caller, "DPoP");
    if (!caller.dpopJkt && dpopToken) return this.invalid(origin, endpoint, "not_dpop_bound", caller, "DPoP");
    if (dpopToken) return this.checkProof(request, caller, dpopToken);
    return this.scopeCheck(request, caller);
  }

  private scopeCheck(request: BearerRequest, caller: McpCaller): BearerResult {
    if (missingScopes(caller.scopes, request.requiredScopes).length > 0) {
      return this.insufficientScope(request.endpoint, request.requiredScopes, caller.dpopJkt ? "DPoP" : "Bearer");
    }
    return { ok: true, caller };
  }

  /** RFC 9449 §7.1: the proof is signed by the token's key, for this request and this token, once. */
  private async checkProof(request: BearerRequest, caller: McpCaller, token: string): Promise<BearerResult> {
    const { endpoint } = request;
    try {
      const proof = await this.services.dpop.verify("resource", {
        headers: request.dpop?.proofs ?? [],
        method: request.dpop?.method ?? "POST",
        url: request.dpop?.url ?? resourceOf(this.services.env.APP_URL, endpoint),
        accessToken: token,
      });
      if (proof.jkt !== caller.dpopJkt) throw new DpopError("invalid_dpop_proof", "the DPoP proof is signed by another key than the token is bound to", "jkt_mismatch");
    } catch (error) {
      if (error instanceof DpopError) {
        this.services.events.security({
          ...request.origin,
          clientId: caller.clientDbId,
          userId: caller.userId,
          type: "INVALID_DPOP_PROOF",
          severity: error.severity,
          details: { reason: error.reason, endpoint: `/mcp/${endpoint}` },
        });
        return this.fail(endpoint, 401, error.error, error.description, undefined, "DPoP");
      }
      if (isDatabaseUnavailable(error)) return this.unavailable(error);
      throw error;
    }
    return this.scopeCheck(request, caller);
  }

  /** RFC 6750 §3.1 `insufficient_scope`, naming every scope the request needs. */
  insufficientScope(endpoint: McpEndpoint, scopes: readonly string[], scheme: Scheme = "Bearer"): BearerResult {
    return this.fail(
      endpoint,
      403,
      "insufficient_scope",
      "The access token does not grant the scope this request needs",
      scopes.join(" "),
      scheme,
    );
  }

  /** A cache miss: the one access-token lookup (oauth/tokens.ts), as a caller. */
  private async lookup(digest: string, now: number): Promise<McpCaller | InvalidReason> {
    const token = await lookupAccessToken(this.services.pool, digest, now);
    if (typeof token === "string") return token;
    return {
      tokenId: token.id,
      grantId: token.grantId,
      userId: token.userId,
      email: token.userEmail,
      name: token.userName,
      role: token.userRole,
      clientDbId: token.clientDbId,
      clientId: token.clientId,
      clientName: token.clientName,
      scopes: token.scopes,
      resource: token.resource,
      expiresAt: token.expiresAt,
      dpopJkt: token.dpopJkt,
    };
  }

  /** The token could not be looked up: 503 and `Retry-After`, no `WWW-Authenticate` (nothing is wrong with it). */
  private unavailable(error: unknown): BearerResult {
    this.services.log.warn({ err: summariseError(error) }, "database unavailable during an MCP bearer check");
    return {
      ok: false,
      failure: {
        status: 503,
        error: "server_error",
        description: DATABASE_UNAVAILABLE_TEXT,
        headers: { "Retry-After": String(DATABASE_RETRY_AFTER_SECONDS), "Cache-Control": "no-store", "Content-Type": "application/json" },
        body: { error: "server_error", error_description: DATABASE_UNAVAILABLE_TEXT },
      },
    };
  }

  private invalid(origin: EventOrigin, endpoint: McpEndpoint, reason: InvalidReason, caller?: McpCaller, scheme: Scheme = "Bearer"): BearerResult {
    this.recordInvalid(
      caller ? { ...origin, clientId: caller.clientDbId, userId: caller.userId } : origin,
      endpoint,
      reason,
      // The audience a wrong-audience token was issued for (a URL, not a secret): what the doctor names.
      reason === "audience" && caller ? caller.resource : undefined,
    );
    return this.fail(endpoint, 401, "invalid_token", this.invalidText(reason, endpoint), undefined, scheme);
  }

  private invalidText(reason: InvalidReason, endpoint: McpEndpoint): string {
    switch (reason) {
      case "expired":
        return "The access token expired";
      case "audience":
        return `The access token was not issued for ${resourceOf(this.services.env.APP_URL, endpoint)}`;
      case "dpop_bound_as_bearer":
        return "The access token is bound to a DPoP key: send it with the DPoP scheme and a proof";
      case "not_dpop_bound":
        return "The access token is not bound to a DPoP key: send it with the Bearer scheme";
      case "bearer_not_accepted":
        return "This resource accepts only DPoP-bound access tokens";
      default:
        return "The access token is invalid, revoked or expired";
    }
  }

  private recordInvalid(origin: EventOrigin, endpoint: McpEndpoint, reason: InvalidReason | "query_string", tokenAudience?: string): void {
    this.services.events.security({
      ...origin,
      type: "INVALID_TOKEN",
      severity: reason === "revoked" || reason === "grant_revoked" || reason === "audience" || reason === "dpop_bound_as_bearer" ? "medium" : "low",
      details: { reason, endpoint: `/mcp/${endpoint}`, ...(tokenAudience ? { audience: tokenAudience } : {}) },
    });
  }

  /**
   * The failure and its challenge (oauth/challenges.ts): RFC 6750 §3 with `resource_metadata` (RFC 9728 §5.1); the
   * DPoP scheme adds `algs` (RFC 9449 §7.1). A 401 names what the endpoint needs, so the client asks for it (MCP
   * 2026-07-28 Authorization §"Scope Selection").
   */
  private fail(
    endpoint: McpEndpoint,
    status: BearerFailure["status"],
    error: BearerFailure["error"],
    description: string,
    scope: string | undefined = undefined,
    scheme: Scheme = "Bearer",
  ): { ok: false; failure: BearerFailure } {
    const challenge = bearerChallenge(
      {
        error,
        description,
        algs: scheme === "DPoP" ? DPOP_SIGNING_ALGS : undefined,
        scope: scope ?? (status === 401 ? ENDPOINT_SCOPES.join(" ") : undefined),
        resourceMetadata: protectedResourceMetadataUrl(this.resources[endpoint]),
      },
      scheme,
    );
    return {
      ok: false,
      failure: {
        status,
        error,
        description,
        headers: {
          "WWW-Authenticate": challenge,
          "Cache-Control": "no-store",
          "Content-Type": "application/json",
          // RFC 9449 §9: a fresh nonce with every DPoP challenge where the resource asks for nonces.
          ...(scheme === "DPoP" ? this.services.dpop.nonceHeader("resource") : {}),
        },
        body: { error: error ?? "unauthorized", error_description: description },
      },
    };
  }
}

/** Whether the URL's query carries `access_token` (parsed only when the text could contain it: hot path). */
function hasQueryToken(url: URL | string): boolean {
  if (typeof url !== "string") return url.searchParams.has("access_token");
  const query = url.indexOf("?");
  if (query < 0 || !url.includes("access_token", query)) return false;
  return new URLSearchParams(url.slice(query + 1).split("#")[0]).has("access_token");
}

/** A failure as a Fetch Response. */
export function failureResponse(failure: BearerFailure): Response {
  return new Response(JSON.stringify(failure.body), { status: failure.status, headers: failure.headers });
}

const resourceUrls = new WeakMap<McpCaller, URL>();

/**
 * What the MCP SDK hands to tool handlers (`extra.authInfo`); `extra.caller` and `extra.facts` (the request's
 * origin and id, server.ts `RequestFacts`) are ours. `token` stays empty on purpose: tools never need the
 * credential, so it cannot leak through a tool, a log line or a Redis message.
 */
export function toAuthInfo(caller: McpCaller, facts?: unknown): AuthInfo {
  let resource = resourceUrls.get(caller);
  if (!resource) {
    resource = new URL(caller.resource);
    resourceUrls.set(caller, resource);
  }
  return {
    token: "",
    clientId: caller.clientId,
    scopes: caller.scopes,
    expiresAt: Math.floor(caller.expiresAt.getTime() / 1000),
    resource,
    extra: { facts, caller },
  };
}

export function callerOf(authInfo: AuthInfo | undefined): McpCaller | undefined {
  return authInfo?.extra?.caller as McpCaller | undefined;
}
