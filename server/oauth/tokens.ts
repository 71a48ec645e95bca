/**
 * Access and refresh tokens: generating them (the grants insert them in their claim statement) and verifying an
 * access token.
 *
 * Tokens are opaque 256-bit random values with recognisable prefixes (`mcpat_`, `mcprt_`), stored only as SHA-256
 * digests (docs/decisions/0004-token-format.md). Access tokens are bound to one resource (RFC 8707 audience).
 */
import pg from "pg";
import type { Prisma, PrismaClient } from "../db/client.ts";
import { SecretPrefix, randomSecret, sha256Hex } from "../crypto.ts";
import type { Env } from "../env.ts";
import { newId, query, statement } from "./sql.ts";

/** The successful token response (RFC 6749 §5.1). */
export interface TokenResponse {
  access_token: string;
  /** "DPoP" when the access token is bound to the key of the request's DPoP proof (RFC 9449 §5). */
  token_type: "Bearer" | "DPoP";
  expires_in: number;
  refresh_token?: string;
  scope: string;
}

/** Freshly generated tokens: the response to send and the rows to insert (digests only). */
export interface PreparedTokens {
  response: TokenResponse;
  access: { id: string; tokenHash: string; expiresAt: Date };
  refresh: { id: string; tokenHash: string; expiresAt: Date } | null;
}

/**
 * Generates an access token (and a refresh token when `withRefresh`) with their row ids, digests and expiry. The
 * caller inserts them in the same statement that claims the code or rotates the refresh token.
 */
export function prepareTokens(env: Env, input: { scope: string; withRefresh: boolean; dpopBound?: boolean }, now: Date): PreparedTokens {
  const accessToken = randomSecret(SecretPrefix.accessToken);
  const response: TokenResponse = {
    access_token: accessToken,
    token_type: input.dpopBound ? "DPoP" : "Bearer",
    expires_in: env.ACCESS_TOKEN_TTL_SECONDS,
    scope: input.scope,
  };
  let refresh: PreparedTokens["refresh"] = null;
  if (input.withRefresh) {
    const refreshToken = randomSecret(SecretPrefix.refreshToken);
    response.refresh_token = refreshToken;
    refresh = { id: newId(), tokenHash: sha256Hex(refreshToken), expiresAt: new Date(now.getTime() + env.REFRESH_TOKEN_TTL_SECONDS * 1000) };
  }
  return {
    response,
    access: { id: newId(), tokenHash: sha256Hex(accessToken), expiresAt: new Date(now.getTime() + env.ACCESS_TOKEN_TTL_SECONDS * 1000) },
    refresh,
  };
}

export interface IssueTokensInput {
  grantId: string;
  clientDbId: string;
  userId: string;
  /** Scope and audience of the access token. */
  scope: string;
  resource: string;
  /** Scope and audience of the refresh token (the grant's); omit for no refresh token. */
  refresh?: { scope: string; resource: string };
}

export interface IssuedTokens {
  response: TokenResponse;
  accessTokenId: string;
  refreshTokenId: string | null;
}

/**
 * Issues tokens for an existing grant inside a Prisma transaction (fixtures, admin tooling). The token endpoint
 * itself inserts prepared tokens in its claim statements (grant-types/*.ts) instead.
 */
export async function issueTokens(tx: Prisma.TransactionClient, env: Env, input: IssueTokensInput, now = new Date()): Promise<IssuedTokens> {
  const prepared = prepareTokens(env, { scope: input.scope, withRefresh: Boolean(input.refresh) }, now);
  const common = { grantId: input.grantId, clientId: input.clientDbId, userId: input.userId, createdAt: now };
  await tx.accessToken.create({
    data: { ...common, id: prepared.access.id, tokenHash: prepared.access.tokenHash, scope: input.scope, resource: input.resource, expiresAt: prepared.access.expiresAt },
  });
  if (input.refresh && prepared.refresh) {
    await tx.refreshToken.create({
      data: {
        ...common,
        id: prepared.refresh.id,
        tokenHash: prepared.refresh.tokenHash,
        scope: input.refresh.scope,
        resource: input.refresh.resource,
        expiresAt: prepared.refresh.expiresAt,
      },
    });
  }
  return { response: prepared.response, accessTokenId: prepared.access.id, refreshTokenId: prepared.refresh?.id ?? null };
}

/** What a valid access token says about its bearer. */
export interface AccessTokenInfo {
  id: string;
  grantId: string;
  /** Client row id and public client_id. */
  clientDbId: string;
  clientId: string;
  clientName: string;
  /** Null for a machine client's own token (client_credentials). */
  userId: string | null;
  userEmail: string | null;
  userName: string | null;
  userRole: "USER" | "ADMIN" | null;
  scopes: string[];
  /** The audience (RFC 8707 resource) the token is bound to. */
  resource: string;
  /** The DPoP key thumbprint the token is bound to (RFC 9449 §6), or null for a Bearer token. */
  dpopJkt: string | null;
  expiresAt: Date;
  createdAt: Date;
}

/** Why a presented access token is not live (for security events; never on the wire). */
export type AccessTokenRefusal = "unknown" | "revoked" | "grant_revoked" | "client_disabled" | "expired";

/**
 * The one access-token lookup (introspection, the MCP bearer check on a cache miss, admin code and tests): by
 * digest, then unrevoked, in an unrevoked grant, of an enabled client, unexpired (RFC 6750 §3.1 `invalid_token`
 * otherwise; RFC 7662 §2.2 `active`). Answers the refusal reason instead of a token when one fails, so callers can
 * record why. (An equality match on a 256-bit digest leaks nothing useful through timing.)
 *
 * One statement for every caller: the endpoints pass the pool under Prisma (sql.ts, a named prepared statement:
 * the MCP endpoints and introspection answer at the token endpoint's pace), admin code and tests may pass the
 * Prisma client.
 */
export async function lookupAccessToken(db: PrismaClient | pg.Pool, digest: string, now: Date | number = Date.now()): Promise<AccessTokenInfo | AccessTokenRefusal> {
  const [row] =
    db instanceof pg.Pool
      ? await query<AccessTokenRow>(db, FIND_ACCESS_TOKEN, [digest])
      : await db.$queryRawUnsafe<AccessTokenRow[]>(FIND_ACCESS_TOKEN.text, digest);
  if (!row) return "unknown";
  if (row.revokedAt) return "revoked";
  if (row.grantRevokedAt) return "grant_revoked";
  if (row.clientDisabled) return "client_disabled";
  if (row.expiresAt.getTime() <= (typeof now === "number" ? now : now.getTime())) return "expired";
  const { revokedAt: _revokedAt, grantRevokedAt: _grantRevokedAt, clientDisabled: _clientDisabled, scope, ...info } = row;
  return { ...info, scopes: scope.split(" ").filter(Boolean) };
}

/** A presented access token if it is live (`lookupAccessToken`), else null; anything not shaped like one is null. */
export async function findAccessToken(db: PrismaClient | pg.Pool, token: string, now: Date | number = Date.now()): Promise<AccessTokenInfo | null> {
  if (!token.startsWith(SecretPrefix.accessToken) || token.length > 200) return null;
  const found = await lookupAccessToken(db, sha256Hex(token), now);
  return typeof found === "string" ? null : found;
}

type AccessTokenRow = Omit<AccessTokenInfo, "scopes"> & { scope: string; revokedAt: Date | null; grantRevokedAt: Date | null; clientDisabled: boolean };

const FIND_ACCESS_TOKEN = statement(
  "oauth_find_access_token",
  `SELECT a.id, a."grantId", a."clientId" AS "clientDbId", c."clientId", c.name AS "clientName", a."userId", u.email AS "userEmail",
  u.name AS "userName", u.role::text AS "userRole", a.scope, a.resource, a."dpopJkt", a."expiresAt", a."createdAt", a."revokedAt",
  g."revokedAt" AS "grantRevokedAt", c.disabled AS "clientDisabled"
FROM "AccessToken" a JOIN "Client" c ON c.id = a."clientId" JOIN "Grant" g ON g.id = a."grantId" LEFT JOIN "User" u ON u.id = a."userId"
WHERE a."tokenHash" = $1`,
);
