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
 *
 * DPoP (RFC 9449 §5): a refresh token bound to a key (a public client's, issued with a proof) is refreshed only with
 * a proof by that key, checked before anything else about it so a copied token without the key cannot even trigger
 * reuse detection; the new access token is bound to the key of this request's proof, the successor refresh token
 * keeps its family's binding.
 */
import { SecretPrefix, sha256Hex } from "../../crypto.ts";
import { OAuthError } from "../errors.ts";
import { RevocationReason, revokeGrant } from "../grants.ts";
import { audienceCovers, resolveResource, resourceIdentifiers } from "../resources.ts";
import { formatScope, grantableScopes, parseScope, scopesCover } from "../scopes.ts";
import { openSuccessor, sealSuccessor } from "../successor-box.ts";
import { prepareTokens, type TokenResponse } from "../tokens.ts";
import { query, statement } from "../sql.ts";
import type { GrantHandler, TokenRequestContext } from "./handler.ts";
import type { OAuthDeps } from "../deps.ts";

export const rotateRefreshToken: GrantHandler = async (deps, context) => {
  const { env } = deps;
  const { params, client, origin, now, dpopJkt } = context;
  const presented = params.require("refresh_token");

  // findRefreshToken
  const find = async (): Promise<RefreshRow | undefined> =>
    presented.startsWith(SecretPrefix.refreshToken) && presented.length <= 200
      ? (await query<RefreshRow>(deps.pool, FIND_REFRESH_TOKEN, [sha256Hex(presented)]))[0]
      : undefined;
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

  // checkKeyBinding (RFC 9449 §5)
  if (row.dpopJkt !== null && row.dpopJkt !== dpopJkt) {
    throw new OAuthError("invalid_grant", "the refresh token is bound to a DPoP key; send a DPoP proof signed by that key", {
      reason: dpopJkt === null ? "dpop_proof_missing" : "dpop_key_mismatch",
      security: { type: "INVALID_DPOP_PROOF", severity: dpopJkt === null ? "low" : "high", details: { reason: dpopJkt === null ? "refresh_without_proof" : "refresh_key_mismatch", endpoint: "token" } },
    });
  }

  // checkLive
  if (row.revokedAt || row.grantRevokedAt) {
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
  const accessScopes = grantableScopes(requested.length > 0 ? requested : grantScopes, row.userRole === "ADMIN");
  if (accessScopes.length === 0) throw new OAuthError("invalid_scope", "no grantable scope is left for this user");

  // checkResource (RFC 8707 §2.2)
  const requestedResource = params.getAll("resource");
  const audience = requestedResource.length > 0 ? resolveResource(requestedResource, env.APP_URL) : row.resource;
  if (!audienceCovers(row.resource, audience, resourceIdentifiers(env.APP_URL))) {
    throw new OAuthError("invalid_target", "resource is not the one the authorization was granted for", { reason: "resource_mismatch" });
  }

  // rotate: one statement locks the grant, claims the old token and inserts the successors (see ROTATE).
  const grace = env.REFRESH_TOKEN_REUSE_GRACE_SECONDS;
  const accessScope = formatScope(accessScopes);
  const prepared = prepareTokens(env, { scope: accessScope, withRefresh: true, dpopBound: dpopJkt !== null }, now);
  const box = grace > 0 ? sealSuccessor(presented, prepared.response) : null;
  const [result] = await query<{ live: number; claimed: number }>(deps.pool, ROTATE, [
    row.grantId,
    row.id,
    now,
    client.id,
    prepared.access.id,
    prepared.access.tokenHash,
    audience,
    prepared.access.expiresAt,
    prepared.refresh!.id,
    prepared.refresh!.tokenHash,
    prepared.refresh!.expiresAt,
    box,
    accessScope,
    dpopJkt,
  ]);
  if (result.live === 0) {
    throw new OAuthError("invalid_grant", "the refresh token is invalid, expired or revoked", { reason: "revoked_refresh_token" });
  }
  if (result.claimed === 0) {
    // A concurrent refresh with the same token committed first: now it is a retry (grace) or reuse.
    const current = await find();
    if (!current) throw new OAuthError("invalid_grant", "the refresh token is invalid, expired or revoked", { reason: "unknown_refresh_token" });
    return rotatedAgain(deps, context, presented, current);
  }
  deps.emit.tokenRefreshed(origin, false);
  deps.emit.tokenIssued(origin, "refresh_token", true);
  return prepared.response;
};

interface RefreshRow {
  id: string;
  grantId: string;
  clientId: string;
  userId: string;
  scope: string;
  resource: string;
  expiresAt: Date;
  dpopJkt: string | null;
  rotatedAt: Date | null;
  revokedAt: Date | null;
  successorBox: string | null;
  grantRevokedAt: Date | null;
  userRole: "USER" | "ADMIN";
  hasSuccessor: boolean;
  successorRotatedAt: Date | null;
  successorRevokedAt: Date | null;
}

const FIND_REFRESH_TOKEN = statement(
  "oauth_find_refresh_token",
  `
SELECT r.id, r."grantId", r."clientId", r."userId", r.scope, r.resource, r."expiresAt", r."dpopJkt", r."rotatedAt", r."revokedAt",
  r."successorBox", g."revokedAt" AS "grantRevokedAt", u.role AS "userRole", (s.id IS NOT NULL) AS "hasSuccessor",
  s."rotatedAt" AS "successorRotatedAt", s."revokedAt" AS "successorRevokedAt"
FROM "RefreshToken" r
JOIN "Grant" g ON g.id = r."grantId"
JOIN "User" u ON u.id = r."userId"
LEFT JOIN "RefreshToken" s ON s.id = r."successorId"
WHERE r."tokenHash" = $1`,
);

/**
 * Atomic rotation. `g` locks the grant row (FOR UPDATE) and yields nothing if it was revoked, so a concurrent
 * revocation either waits for this statement (and then revokes the successors too) or wins and this claims nothing.
 * `claimed` takes the old token only while `rotatedAt IS NULL`: of concurrent rotations exactly one matches. The
 * successors and the old token's link to them (and the sealed grace-window answer) are written in the same statement.
 * $1 grant, $2 old token id, $3 now, $4 client, $5-$8 access token (id, digest, audience, expiry),
 * $9-$11 refresh token (id, digest, expiry), $12 sealed successor box (or null), $13 access token scope, $14 the
 * DPoP key the access token is bound to (null = none; the successor refresh token keeps the old one's binding).
 */
const ROTATE = statement(
  "oauth_rotate_refresh_token",
  `
WITH g AS (
  SELECT id FROM "Grant" WHERE id = $1 AND "revokedAt" IS NULL FOR UPDATE
), claimed AS (
  UPDATE "RefreshToken" SET "rotatedAt" = $3::timestamp, "successorId" = $9, "successorBox" = $12
  WHERE id = $2 AND "rotatedAt" IS NULL AND "revokedAt" IS NULL AND EXISTS (SELECT 1 FROM g)
  RETURNING "userId", scope, resource, "dpopJkt"
), a AS (
  INSERT INTO "AccessToken" (id, "tokenHash", "grantId", "clientId", "userId", scope, resource, "expiresAt", "createdAt", "dpopJkt")
  SELECT $5, $6, $1, $4, "userId", $13, $7, $8::timestamp, $3::timestamp, $14 FROM claimed
  RETURNING id
), r AS (
  INSERT INTO "RefreshToken" (id, "tokenHash", "grantId", "clientId", "userId", scope, resource, "expiresAt", "createdAt", "dpopJkt")
  SELECT $9, $10, $1, $4, "userId", scope, resource, $11::timestamp, $3::timestamp, "dpopJkt" FROM claimed
  RETURNING id
), u AS (
  UPDATE "Grant" SET "lastUsedAt" = $3::timestamp WHERE id = $1 AND EXISTS (SELECT 1 FROM claimed)
  RETURNING id
), c AS (
  UPDATE "Client" SET "lastUsedAt" = $3::timestamp
  WHERE id = $4 AND EXISTS (SELECT 1 FROM claimed) AND ("lastUsedAt" IS NULL OR "lastUsedAt" < $3::timestamp - interval '60 seconds')
  RETURNING id
)
SELECT (SELECT count(*)::int FROM g) AS live, (SELECT count(*)::int FROM claimed) AS claimed`,
);

/** A rotated token presented again: the grace-window retry, or reuse (revoke the family). */
async function rotatedAgain(deps: OAuthDeps, context: TokenRequestContext, presented: string, row: RefreshRow): Promise<TokenResponse> {
  const { now, origin } = context;
  const graceMs = deps.env.REFRESH_TOKEN_REUSE_GRACE_SECONDS * 1000;
  const withinGrace =
    graceMs > 0 &&
    row.rotatedAt !== null &&
    now.getTime() - row.rotatedAt.getTime() <= graceMs &&
    !row.revokedAt &&
    !row.grantRevokedAt &&
    row.hasSuccessor &&
    !row.successorRotatedAt &&
    !row.successorRevokedAt &&
    row.successorBox !== null;
  if (withinGrace) {
    const response = openSuccessor<TokenResponse>(presented, row.successorBox!);
    if (response) {
      deps.emit.tokenRefreshed(origin, true);
      return response;
    }
  }
  const counts = await revokeGrant(deps, row.grantId, RevocationReason.refreshTokenReuse);
  throw new OAuthError("invalid_grant", "the refresh token was already used; every token of this grant is revoked", {
    reason: "refresh_token_reuse",
    security: {
      type: "TOKEN_REUSE",
      severity: "high",
      details: { grantId: row.grantId, refreshTokenId: row.id, revokedTokens: counts.accessTokens + counts.refreshTokens },
    },
  });
}
