/**
 * Access and refresh tokens (I/O): issuing them inside the caller's transaction, and verifying an access token.
 *
 * Tokens are opaque 256-bit random values with recognisable prefixes (`mcpat_`, `mcprt_`), stored only as SHA-256
 * digests (docs/decisions/0004-token-format.md). Access tokens are bound to one resource (RFC 8707 audience).
 */
import type { Prisma, PrismaClient } from "../db/client.ts";
import { SecretPrefix, randomSecret, sha256Hex } from "../crypto.ts";
import type { Env } from "../env.ts";

/** The successful token response (RFC 6749 §5.1). */
export interface TokenResponse {
  access_token: string;
  token_type: "Bearer";
  expires_in: number;
  refresh_token?: string;
  scope: string;
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

export async function issueTokens(tx: Prisma.TransactionClient, env: Env, input: IssueTokensInput, now = new Date()): Promise<IssuedTokens> {
  const accessToken = randomSecret(SecretPrefix.accessToken);
  const access = await tx.accessToken.create({
    data: {
      tokenHash: sha256Hex(accessToken),
      grantId: input.grantId,
      clientId: input.clientDbId,
      userId: input.userId,
      scope: input.scope,
      resource: input.resource,
      expiresAt: new Date(now.getTime() + env.ACCESS_TOKEN_TTL_SECONDS * 1000),
      createdAt: now,
    },
    select: { id: true },
  });
  const response: TokenResponse = {
    access_token: accessToken,
    token_type: "Bearer",
    expires_in: env.ACCESS_TOKEN_TTL_SECONDS,
    scope: input.scope,
  };
  let refreshTokenId: string | null = null;
  if (input.refresh) {
    const refreshToken = randomSecret(SecretPrefix.refreshToken);
    const refresh = await tx.refreshToken.create({
      data: {
        tokenHash: sha256Hex(refreshToken),
        grantId: input.grantId,
        clientId: input.clientDbId,
        userId: input.userId,
        scope: input.refresh.scope,
        resource: input.refresh.resource,
        expiresAt: new Date(now.getTime() + env.REFRESH_TOKEN_TTL_SECONDS * 1000),
        createdAt: now,
      },
      select: { id: true },
    });
    response.refresh_token = refreshToken;
    refreshTokenId = refresh.id;
  }
  return { response, accessTokenId: access.id, refreshTokenId };
}

/** What a valid access token says about its bearer. */
export interface AccessTokenInfo {
  id: string;
  grantId: string;
  /** Client row id and public client_id. */
  clientDbId: string;
  clientId: string;
  clientName: string;
  userId: string;
  userEmail: string;
  userRole: "USER" | "ADMIN";
  scopes: string[];
  /** The audience (RFC 8707 resource) the token is bound to. */
  resource: string;
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
    userEmail: row.user.email,
    userRole: row.user.role,
    scopes: row.scope.split(" ").filter(Boolean),
    resource: row.resource,
    expiresAt: row.expiresAt,
    createdAt: row.createdAt,
  };
}
