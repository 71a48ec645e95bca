/**
 * Access and refresh tokens: generating them (the grants insert them in their claim statement) and verifying an
 * access token.
 *
 * Tokens are opaque 256-bit random values with recognisable prefixes (`mcpat_`, `mcprt_`), stored only as SHA-256
 * digests (docs/decisions/0004-token-format.md). Access tokens are bound to one resource (RFC 8707 audience).
 */
import type { Prisma, PrismaClient } from "../db/client.ts";
import { SecretPrefix, randomSecret, sha256Hex } from "../crypto.ts";
import type { Env } from "../env.ts";
import { newId } from "./sql.ts";

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
 * itself inserts prepared tokens in its claim statements (grant-*.ts) instead.
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
  userRole: "USER" | "ADMIN" | null;
  scopes: string[];
  /** The audience (RFC 8707 resource) the token is bound to. */
  resource: string;
  /** The DPoP key thumbprint the token is bound to (RFC 9449 §6), or null for a Bearer token. */
  dpopJkt: string | null;
  expiresAt: Date;
  createdAt: Date;
}

/**
 * Looks a presented access token up by digest. Null when unknown, expired, revoked, or its client is disabled.
 * (The lookup is by digest; an equality match on a 256-bit digest leaks nothing useful through timing.)
 */
export async function findAccessToken(prisma: PrismaClient, token: string, now = new Date()): Promise<AccessTokenInfo | null> {
  if (!token.startsWith(SecretPrefix.accessToken) || token.length > 200) return null;
  const row = await prisma.accessToken.findUnique({
    where: { tokenHash: sha256Hex(token) },
    include: {
      client: { select: { clientId: true, name: true, disabled: true } },
      user: { select: { email: true, role: true } },
    },
  });
  if (!row || row.revokedAt || row.expiresAt <= now || row.client.disabled) return null;
  return {
    id: row.id,
    grantId: row.grantId,
    clientDbId: row.clientId,
    clientId: row.client.clientId,
    clientName: row.client.name,
    userId: row.userId,
    userEmail: row.user?.email ?? null,
    userRole: row.user?.role ?? null,
    scopes: row.scope.split(" ").filter(Boolean),
    resource: row.resource,
    dpopJkt: row.dpopJkt,
    expiresAt: row.expiresAt,
    createdAt: row.createdAt,
  };
}
