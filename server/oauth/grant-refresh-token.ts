/**
 * The `refresh_token` grant (RFC 6749 §6, OAuth 2.1 §4.3, RFC 9700 §4.14.2).
 *
 * Steps: findRefreshToken → checkClientBinding → checkLive → (rotated? → graceRetry | reuseDetected) → checkScope →
 * checkResource → rotate. Rotation is atomic: the grant row is locked (so a concurrent revocation either sees the new
 * tokens or is seen), the old token is claimed with `UPDATE … WHERE rotatedAt IS NULL`, and the successor is issued
 * in the same transaction. Presenting a rotated token again revokes the whole family (TOKEN_REUSE), except within
 * REFRESH_TOKEN_REUSE_GRACE_SECONDS, where the retry gets the same successor (successor-box.ts).
 *
 * The new refresh token keeps the old one's scope (RFC 6749 §6); `scope` may only narrow the access token.
 * `mcp:admin` is left out of the access token if the user is no longer an administrator.
 */
import { SecretPrefix, sha256Hex } from "../crypto.ts";
import { OAuthError } from "./errors.ts";
import { RevocationReason, revokeGrantsWhere } from "./grants.ts";
import { audienceCovers, resolveResource } from "./resources.ts";
import { SCOPES, formatScope, isSupportedScope, parseScope, scopesCover } from "./scopes.ts";
import { openSuccessor, sealSuccessor } from "./successor-box.ts";
import { issueTokens, type TokenResponse } from "./tokens.ts";
import type { GrantHandler, TokenRequestContext } from "./token-endpoint.ts";
import type { OAuthDeps } from "./deps.ts";

const include = {
  grant: { select: { revokedAt: true } },
  user: { select: { role: true } },
  successor: { select: { rotatedAt: true, revokedAt: true } },
} as const;

export const rotateRefreshToken: GrantHandler = async (deps, context) => {
  const { prisma, env } = deps;
  const { params, client, origin, now } = context;
  const presented = params.require("refresh_token");

  // findRefreshToken
  const find = () =>
    presented.startsWith(SecretPrefix.refreshToken) && presented.length <= 200
      ? prisma.refreshToken.findUnique({ where: { tokenHash: sha256Hex(presented) }, include })
      : Promise.resolve(null);
  const row = await find();
  if (!row) throw new OAuthError("invalid_grant", "the refresh token is invalid, expired or revoked", { reason: "unknown_refresh_token" });
  origin.userId = row.userId;

  // checkClientBinding (RFC 6749 §6: bound to the client it was issued to)
  if (row.clientId !== client.id) {
    throw new OAuthError("invalid_grant", "the refresh token was issued to another client", {
      reason: "refresh_client_mismatch",
      security: { type: "SUSPICIOUS_ACTIVITY", severity: "medium", details: { reason: "refresh_client_mismatch" } },
    });
  }

  // checkLive
  if (row.revokedAt || row.grant.revokedAt) {
    throw new OAuthError("invalid_grant", "the refresh token is invalid, expired or revoked", { reason: "revoked_refresh_token" });
  }
  if (row.expiresAt <= now) throw new OAuthError("invalid_grant", "the refresh token is invalid, expired or revoked", { reason: "expired_refresh_token" });

  if (row.rotatedAt) return rotatedAgain(deps, context, presented, row);

  // checkScope (RFC 6749 §6: may not exceed the original grant)
  const grantScopes = parseScope(row.scope);
  const requested = parseScope(params.get("scope"));
  if (requested.length > 0 && !scopesCover(grantScopes, requested)) {
    throw new OAuthError("invalid_scope", "scope exceeds what the refresh token was granted");
  }
  const accessScopes = (requested.length > 0 ? requested : grantScopes).filter(
    (s) => isSupportedScope(s) && (row.user.role === "ADMIN" || !SCOPES[s].adminOnly),
  );
  if (accessScopes.length === 0) throw new OAuthError("invalid_scope", "no grantable scope is left for this user");

  // checkResource (RFC 8707 §2.2)
  const requestedResource = params.getAll("resource");
  const audience = requestedResource.length > 0 ? resolveResource(requestedResource, env.APP_URL) : row.resource;
  if (!audienceCovers(row.resource, audience, env.APP_URL)) {
    throw new OAuthError("invalid_target", "resource is not the one the authorization was granted for", { reason: "resource_mismatch" });
  }

  // rotate
  const grace = env.REFRESH_TOKEN_REUSE_GRACE_SECONDS;
  const outcome = await prisma.$transaction(async (tx) => {
    const locked = await tx.$queryRaw<Array<{ revokedAt: Date | null }>>`SELECT "revokedAt" FROM "Grant" WHERE id = ${row.grantId} FOR UPDATE`;
    if (locked.length === 0 || locked[0].revokedAt) return "revoked" as const;
    const claimed = await tx.refreshToken.updateMany({
      where: { id: row.id, rotatedAt: null, revokedAt: null },
      data: { rotatedAt: now },
    });
    if (claimed.count !== 1) return "lost" as const;
    const issued = await issueTokens(
      tx,
      env,
      {
        grantId: row.grantId,
        clientDbId: client.id,
        userId: row.userId,
        scope: formatScope(accessScopes),
        resource: audience,
        refresh: { scope: row.scope, resource: row.resource },
      },
      now,
    );
    await tx.refreshToken.update({
      where: { id: row.id },
      data: { successorId: issued.refreshTokenId, successorBox: grace > 0 ? sealSuccessor(presented, issued.response) : null },
    });
    await tx.grant.update({ where: { id: row.grantId }, data: { lastUsedAt: now } });
    return issued.response;
  });
  if (outcome === "revoked") {
    throw new OAuthError("invalid_grant", "the refresh token is invalid, expired or revoked", { reason: "revoked_refresh_token" });
  }
  if (outcome === "lost") {
    // A concurrent refresh with the same token committed first: now it is a retry (grace) or reuse.
    const current = await find();
    if (!current) throw new OAuthError("invalid_grant", "the refresh token is invalid, expired or revoked", { reason: "unknown_refresh_token" });
    return rotatedAgain(deps, context, presented, current);
  }
  await deps.clients.markUsed(client.id, now);
  deps.events.tokenRefreshed(origin, false);
  deps.events.tokenIssued(origin, "refresh_token", true);
  return outcome;
};

type RefreshRow = NonNullable<Awaited<ReturnType<OAuthDeps["prisma"]["refreshToken"]["findUnique"]>>> & {
  grant: { revokedAt: Date | null };
  successor: { rotatedAt: Date | null; revokedAt: Date | null } | null;
};

/** A rotated token presented again: the grace-window retry, or reuse (revoke the family). */
async function rotatedAgain(deps: OAuthDeps, context: TokenRequestContext, presented: string, row: RefreshRow): Promise<TokenResponse> {
  const { now, origin } = context;
  const graceMs = deps.env.REFRESH_TOKEN_REUSE_GRACE_SECONDS * 1000;
  const withinGrace =
    graceMs > 0 &&
    row.rotatedAt !== null &&
    now.getTime() - row.rotatedAt.getTime() <= graceMs &&
    !row.revokedAt &&
    !row.grant.revokedAt &&
    row.successor !== null &&
    !row.successor.rotatedAt &&
    !row.successor.revokedAt &&
    row.successorBox !== null;
  if (withinGrace) {
    const response = openSuccessor<TokenResponse>(presented, row.successorBox!);
    if (response) {
      deps.events.tokenRefreshed(origin, true);
      return response;
    }
  }
  const counts = await revokeGrantsWhere({ prisma: deps.prisma, events: deps.bus }, { id: row.grantId }, RevocationReason.refreshTokenReuse, "grant");
  throw new OAuthError("invalid_grant", "the refresh token was already used; every token of this grant is revoked", {
    reason: "refresh_token_reuse",
    security: {
      type: "TOKEN_REUSE",
      severity: "high",
      details: { grantId: row.grantId, refreshTokenId: row.id, revokedTokens: counts.accessTokens + counts.refreshTokens },
    },
  });
}
