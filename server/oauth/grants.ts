/**
 * Grants (one authorization = one family of access and refresh tokens) for the admin console, the user's own
 * "connected apps" page and the token endpoint's reuse detection: listing and revocation.
 *
 * Revoking a grant marks the grant and every live access and refresh token in it revoked in one transaction, then
 * emits `oauth.revocation` (so every node's token cache drops them) and `oauth.token.revoked`. Token values are never
 * read or returned here: only their ids.
 *
 * Ids: a client's row id (`Client.id`) travels as `clientDbId`; `clientId` is always the public `client_id`.
 */
import type { Prisma } from "../db/client.ts";
import type { OAuthReadDeps, OAuthStoreDeps } from "./deps.ts";
import { OAuthEvents, type RevokedKind } from "./emit.ts";

export interface ActiveGrant {
  id: string;
  /** Null for a machine client's own grant (client_credentials). */
  userId: string | null;
  user: { email: string; name: string | null } | null;
  /** The trusted identity provider whose assertion produced the grant (ID-JAG), if any. */
  identityProvider: string | null;
  /** The Client row id. */
  clientDbId: string;
  /** The public `client_id`. */
  clientId: string;
  clientName: string;
  scopes: string[];
  resource: string;
  createdAt: Date;
  lastUsedAt: Date | null;
}

export interface GrantPage {
  items: ActiveGrant[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

export interface RevocationCounts {
  grants: number;
  accessTokens: number;
  refreshTokens: number;
}

/** Why a grant was revoked (stored in Grant.revokedReason; free text is allowed, these are the ones the server uses). */
export const RevocationReason = {
  user: "revoked_by_user",
  admin: "revoked_by_admin",
  clientDisabled: "client_disabled",
  clientDeleted: "client_deleted",
  userRemoved: "user_removed",
  codeReuse: "authorization_code_reuse",
  refreshTokenReuse: "refresh_token_reuse",
  revocationEndpoint: "revocation_endpoint",
} as const;

/**
 * Grants that can still produce or use a token: not revoked, with a live access token or a live (unrotated)
 * refresh token. Newest first; `cursor` is the last item's id of the previous page.
 */
export async function listActiveGrants(
  deps: OAuthReadDeps,
  options: { userId?: string; clientDbId?: string; cursor?: string; take: number },
): Promise<GrantPage> {
  const now = new Date();
  const take = Math.min(Math.max(1, Math.trunc(options.take)), 200);
  const rows = await deps.prisma.grant.findMany({
    where: {
      revokedAt: null,
      ...(options.userId ? { userId: options.userId } : {}),
      ...(options.clientDbId ? { clientId: options.clientDbId } : {}),
      OR: [
        { accessTokens: { some: { revokedAt: null, expiresAt: { gt: now } } } },
        { refreshTokens: { some: { revokedAt: null, rotatedAt: null, expiresAt: { gt: now } } } },
      ],
    },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: take + 1,
    ...(options.cursor ? { cursor: { id: options.cursor }, skip: 1 } : {}),
    select: {
      id: true,
      userId: true,
      clientId: true,
      scope: true,
      resource: true,
      createdAt: true,
      lastUsedAt: true,
      user: { select: { email: true, name: true } },
      client: { select: { clientId: true, name: true } },
      identityProvider: { select: { issuer: true } },
    },
  });
  const page = rows.slice(0, take);
  return {
    items: page.map((row) => ({
      id: row.id,
      userId: row.userId,
      user: row.user,
      identityProvider: row.identityProvider?.issuer ?? null,
      clientDbId: row.clientId,
      clientId: row.client.clientId,
      clientName: row.client.name,
      scopes: row.scope.split(" ").filter(Boolean),
      resource: row.resource,
      createdAt: row.createdAt,
      lastUsedAt: row.lastUsedAt,
    })),
    nextCursor: rows.length > take ? page[page.length - 1].id : null,
  };
}

/**
 * Revokes one grant and its tokens. With `userId`, only that user's own grant (a user revoking an app they
 * connected); another user's grant id counts as not found (0 revoked). `kind` is what the metric counts the
 * revocation as (a refresh token revoked at the revocation endpoint takes its grant along, RFC 7009 §2.1).
 */
export async function revokeGrant(
  deps: OAuthStoreDeps,
  grantId: string,
  reason: string,
  options: { userId?: string; kind?: RevokedKind } = {},
): Promise<RevocationCounts> {
  return revokeGrantsWhere(deps, { id: grantId, ...(options.userId ? { userId: options.userId } : {}) }, reason, options.kind ?? "grant");
}

/** Revokes every grant of a client (client disabled, deleted or its secret leaked). `clientDbId` is Client.id. */
export async function revokeGrantsForClient(deps: OAuthStoreDeps, clientDbId: string, reason: string): Promise<RevocationCounts> {
  return revokeGrantsWhere(deps, { clientId: clientDbId }, reason, "client", { clientIds: [clientDbId] });
}

/**
 * Revokes every grant of a user (user removed, "sign out everywhere"); with `scope`, only the grants holding it (a
 * demoted admin's `mcp:admin` grants: an access token already issued would keep the scope until it expires).
 */
export async function revokeGrantsForUser(
  deps: OAuthStoreDeps,
  userId: string,
  reason: string,
  options: { scope?: string } = {},
): Promise<RevocationCounts> {
  const where: Prisma.GrantWhereInput = options.scope ? { userId, scope: { contains: options.scope } } : { userId };
  return revokeGrantsWhere(deps, where, reason, "user", { userIds: [userId] });
}

/** Revokes every grant an identity provider's assertions produced (ID-JAG; the provider is being removed). */
export async function revokeGrantsForIdentityProvider(deps: OAuthStoreDeps, identityProviderId: string, reason: string): Promise<RevocationCounts> {
  return revokeGrantsWhere(deps, { identityProviderId }, reason, "grant");
}

/**
 * The one revocation path. Locks the grant rows (`UPDATE … WHERE revokedAt IS NULL`) before touching tokens, so a
 * refresh racing with the revocation either commits first (and its new tokens are revoked here, since each statement
 * of a READ COMMITTED transaction sees what committed before it) or finds the grant revoked.
 */
async function revokeGrantsWhere(
  deps: OAuthStoreDeps,
  where: Prisma.GrantWhereInput,
  reason: string,
  kind: RevokedKind,
  extraIds: { clientIds?: string[]; userIds?: string[] } = {},
): Promise<RevocationCounts> {
  const now = new Date();
  const { grants, accessTokens, refreshTokens } = await deps.prisma.$transaction(async (tx) => {
    const grants = await tx.grant.findMany({ where: { ...where, revokedAt: null }, select: { id: true, clientId: true, userId: true } });
    if (grants.length === 0) return { grants, accessTokens: 0, refreshTokens: 0 };
    const ids = grants.map((g) => g.id);
    await tx.grant.updateMany({ where: { id: { in: ids }, revokedAt: null }, data: { revokedAt: now, revokedReason: reason.slice(0, 200) } });
    const access = await tx.accessToken.updateMany({
      where: { grantId: { in: ids }, revokedAt: null, expiresAt: { gt: now } },
      data: { revokedAt: now },
    });
    const refresh = await tx.refreshToken.updateMany({
      where: { grantId: { in: ids }, revokedAt: null, expiresAt: { gt: now } },
      data: { revokedAt: now, successorBox: null },
    });
    return { grants, accessTokens: access.count, refreshTokens: refresh.count };
  });
  if (grants.length > 0) {
    const single = grants.length === 1 ? grants[0] : undefined;
    new OAuthEvents(deps.events).revoked(
      { clientId: single?.clientId ?? extraIds.clientIds?.[0] ?? null, userId: single?.userId ?? extraIds.userIds?.[0] ?? null },
      kind,
      accessTokens + refreshTokens,
      { grantIds: grants.map((g) => g.id), ...extraIds },
    );
  }
  return { grants: grants.length, accessTokens, refreshTokens };
}
