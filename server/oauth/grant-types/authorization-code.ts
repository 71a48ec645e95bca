/**
 * The `authorization_code` grant (RFC 6749 §4.1.3, OAuth 2.1 §4.1.3, RFC 7636 §4.5-4.6, RFC 8707 §2.2).
 *
 * Steps, each failing with one OAuthError: findCode → checkClientBinding → checkNotRedeemed → checkExpiry →
 * checkRedirectUri → checkPkce → checkResource → checkScope → claimAndIssue. Every check happens BEFORE the code is consumed, so
 * a mistaken request does not burn the code. The claim is one conditional UPDATE (`consumedAt IS NULL`) in the same
 * SQL statement that creates the grant and its tokens: of N concurrent redemptions exactly one wins. A code presented
 * after it was redeemed revokes the grant it produced (RFC 6749 §4.1.2, RFC 9700 §4.5) and records CODE_REUSE.
 *
 * Incremental consent: when the person already has a live grant for this client and resource, the code widens it (its
 * scope becomes the union) instead of creating a second one, so a client that stepped up holds one grant.
 * DPoP (RFC 9449 §5): with a proof, the access token is bound to its key, and a public client's refresh token too.
 */
import { SecretPrefix, sha256Hex } from "../../crypto.ts";
import { OAuthError } from "../errors.ts";
import { RevocationReason, revokeGrant } from "../grants.ts";
import { CODE_VERIFIER, verifyCodeVerifier } from "../pkce.ts";
import { audienceCovers, resolveResource, resourceIdentifiers } from "../resources.ts";
import { formatScope, grantableScopes, parseScope } from "../scopes.ts";
import { prepareTokens, type TokenResponse } from "../tokens.ts";
import { newId, query, statement } from "../sql.ts";
import type { GrantHandler } from "./handler.ts";

export const redeemAuthorizationCode: GrantHandler = async (deps, { params, client, origin, now, dpopJkt }) => {
  const { env } = deps;
  const code = params.require("code");
  const verifier = params.get("code_verifier");
  if (!verifier) throw new OAuthError("invalid_request", "code_verifier is required (PKCE, RFC 7636 §4.5)");
  if (!CODE_VERIFIER.test(verifier)) {
    throw new OAuthError("invalid_grant", "code_verifier must be 43-128 unreserved characters (RFC 7636 §4.1)", { reason: "malformed_verifier" });
  }
  const redirectUri = params.get("redirect_uri");
  const requestedResource = params.getAll("resource");

  // findCode
  const row =
    code.startsWith(SecretPrefix.authorizationCode) && code.length <= 200
      ? (await query<CodeRow>(deps.pool, FIND_CODE, [sha256Hex(code)]))[0]
      : undefined;
  if (!row) throw new OAuthError("invalid_grant", "the authorization code is invalid or expired", { reason: "unknown_code" });

  // checkClientBinding (RFC 6749 §4.1.3: the code was issued to the authenticated client)
  if (row.clientId !== client.id) {
    throw new OAuthError("invalid_grant", "the authorization code was issued to another client", {
      reason: "code_client_mismatch",
      security: { type: "SUSPICIOUS_ACTIVITY", severity: "medium", details: { reason: "code_client_mismatch" } },
    });
  }

  // checkNotRedeemed
  if (row.consumedAt) throw await codeReuse(deps, row.id, row.grantId);

  // checkExpiry
  if (row.expiresAt <= now) throw new OAuthError("invalid_grant", "the authorization code is invalid or expired", { reason: "expired_code" });

  // checkRedirectUri (RFC 6749 §4.1.3: required and identical when it was in the authorization request)
  if ((row.redirectUriExplicit || redirectUri !== undefined) && redirectUri !== row.redirectUri) {
    throw new OAuthError("invalid_grant", "redirect_uri does not match the authorization request", {
      reason: redirectUri === undefined ? "missing_redirect_uri" : "redirect_uri_mismatch",
      security: { type: "REDIRECT_URI_MISMATCH", severity: "medium", details: { endpoint: "token" } },
    });
  }

  // checkPkce (RFC 7636 §4.6)
  if (!verifyCodeVerifier(verifier, row.codeChallenge)) {
    throw new OAuthError("invalid_grant", "PKCE verification failed: code_verifier does not match code_challenge", {
      reason: "pkce_mismatch",
      security: { type: "PKCE_FAILURE", severity: "medium" },
    });
  }

  // checkResource (RFC 8707 §2.2: the token's audience must be within what was authorized)
  const audience = requestedResource.length > 0 ? resolveResource(requestedResource, env.APP_URL) : row.resource;
  if (!audienceCovers(row.resource, audience, resourceIdentifiers(env.APP_URL))) {
    throw new OAuthError("invalid_target", "resource is not the one the authorization was granted for", { reason: "resource_mismatch" });
  }

  // checkScope (RFC 6749 §3.3): mcp:admin only while the person is an administrator. A code approved before a
  // demotion must not mint a fresh admin grant after it (the demotion revoked the grants that existed then).
  const scopes = grantableScopes(parseScope(row.scope), row.userRole === "ADMIN");
  if (scopes.length === 0) {
    throw new OAuthError("invalid_grant", "the person may no longer be granted the scope of this code", { reason: "scope_no_longer_grantable" });
  }
  const scope = formatScope(scopes);

  // widen: the person's live grant to this client for this resource, if any (found with the code), takes the new
  // scopes. Revoked since that read: the claim statement issues nothing (`issued` below).
  const grantId = row.liveGrantId ?? newId();
  const grantScope = row.liveGrantScope !== null ? formatScope([...parseScope(row.liveGrantScope), ...scopes]) : scope;

  // claimAndIssue: one statement claims the code, creates or widens the grant and inserts the tokens (CLAIM_AND_ISSUE).
  const withRefresh = client.grantTypes.includes("refresh_token");
  const prepared = prepareTokens(env, { scope, withRefresh, dpopBound: dpopJkt !== null }, now);
  const refreshJkt = client.tokenEndpointAuthMethod === "none" ? dpopJkt : null;
  const [result] = await query<{ claimed: number; issued: number }>(deps.pool, CLAIM_AND_ISSUE, [
    row.id,
    now,
    grantId,
    client.id,
    prepared.access.id,
    prepared.access.tokenHash,
    audience,
    prepared.access.expiresAt,
    prepared.refresh?.id ?? null,
    prepared.refresh?.tokenHash ?? null,
    prepared.refresh?.expiresAt ?? null,
    scope,
    grantScope,
    dpopJkt,
    refreshJkt,
  ]);
  if (result.claimed !== 1) {
    // Lost the race: another redemption of the same code committed first.
    const [current] = await query<{ grantId: string | null }>(deps.pool, 'SELECT "grantId" FROM "AuthorizationCode" WHERE id = $1', [row.id]);
    // Gone altogether (its client was deleted meanwhile): not a reuse, nothing to revoke.
    if (!current) throw new OAuthError("invalid_grant", "the authorization code is invalid or expired", { reason: "code_gone" });
    throw await codeReuse(deps, row.id, current.grantId);
  }
  if (result.issued !== 1) {
    // The grant being widened was revoked between the lookup and the claim: the code is spent, nothing was issued.
    throw new OAuthError("invalid_grant", "the authorization was revoked while this code was redeemed; authorize again", { reason: "grant_revoked_meanwhile" });
  }
  origin.userId = row.userId;
  deps.emit.tokenIssued(origin, "authorization_code", withRefresh);
  return prepared.response satisfies TokenResponse;
};

interface CodeRow {
  id: string;
  clientId: string;
  userId: string;
  redirectUri: string;
  redirectUriExplicit: boolean;
  codeChallenge: string;
  scope: string;
  resource: string;
  expiresAt: Date;
  consumedAt: Date | null;
  grantId: string | null;
  userRole: "USER" | "ADMIN";
  /** The person's newest live grant to the code's client for the code's resource (the one a new code widens). */
  liveGrantId: string | null;
  liveGrantScope: string | null;
}

/**
 * The code, its person's role and the live grant it would widen, in one round trip. The grant is found through
 * "Grant_userId_clientId_resource_createdAt_idx" (the person's own grants, newest first), never by reading every
 * grant of the client (int/oauth-grant-lookup.test.ts).
 */
export const FIND_CODE = statement(
  "oauth_find_code",
  `SELECT a.id, a."clientId", a."userId", a."redirectUri", a."redirectUriExplicit", a."codeChallenge", a.scope, a.resource,
  a."expiresAt", a."consumedAt", a."grantId", u.role AS "userRole", lg.id AS "liveGrantId", lg.scope AS "liveGrantScope"
FROM "AuthorizationCode" a JOIN "User" u ON u.id = a."userId"
LEFT JOIN LATERAL (
  SELECT g.id, g.scope FROM "Grant" g
  WHERE g."userId" = a."userId" AND g."clientId" = a."clientId" AND g.resource = a.resource AND g."revokedAt" IS NULL
  ORDER BY g."createdAt" DESC LIMIT 1
) lg ON true
WHERE a."codeHash" = $1`,
);

/**
 * The atomic claim (RFC 6749 §4.1.2: single use). `UPDATE … WHERE "consumedAt" IS NULL` lets exactly one of N
 * concurrent statements take the row (the others re-check the condition on the committed row and match nothing);
 * the grant, the code's link to it, the tokens and the client's first/last use are written by the same statement,
 * so a claimed code always has its grant and tokens. Foreign keys are checked at the end of the statement; the
 * other CTEs run whether or not the final SELECT reads them (PostgreSQL runs data-modifying WITH parts exactly once).
 * $1 code id, $2 now, $3 grant id, $4 client id, $5-$8 access token (id, digest, audience, expiry),
 * $9-$11 refresh token (id, digest, expiry; null = none), $12 the scope granted (the code's, less what the person
 * may no longer have), $13 the grant's scope (the union when an existing grant is widened: $3 is then its id, and
 * it is widened only while not revoked, else nothing is issued), $14/$15 the DPoP key thumbprint the access and the
 * refresh token are bound to (null = not bound).
 */
const CLAIM_AND_ISSUE = statement(
  "oauth_claim_code_and_issue",
  `
WITH claimed AS (
  UPDATE "AuthorizationCode" SET "consumedAt" = $2::timestamp, "grantId" = $3
  WHERE id = $1 AND "consumedAt" IS NULL AND "expiresAt" > $2::timestamp
  RETURNING "userId", resource
), g AS (
  INSERT INTO "Grant" (id, "userId", "clientId", scope, resource, "createdAt", "lastUsedAt")
  SELECT $3, "userId", $4, $13, resource, $2::timestamp, $2::timestamp FROM claimed
  ON CONFLICT (id) DO UPDATE SET scope = EXCLUDED.scope, "lastUsedAt" = EXCLUDED."lastUsedAt" WHERE "Grant"."revokedAt" IS NULL
  RETURNING id
), a AS (
  INSERT INTO "AccessToken" (id, "tokenHash", "grantId", "clientId", "userId", scope, resource, "expiresAt", "createdAt", "dpopJkt")
  SELECT $5, $6, $3, $4, "userId", $12, $7, $8::timestamp, $2::timestamp, $14 FROM claimed WHERE EXISTS (SELECT 1 FROM g)
  RETURNING id
), r AS (
  INSERT INTO "RefreshToken" (id, "tokenHash", "grantId", "clientId", "userId", scope, resource, "expiresAt", "createdAt", "dpopJkt")
  SELECT $9, $10, $3, $4, "userId", $12, resource, $11::timestamp, $2::timestamp, $15 FROM claimed
  WHERE $9::text IS NOT NULL AND EXISTS (SELECT 1 FROM g)
  RETURNING id
), c AS (
  UPDATE "Client" SET "firstTokenAt" = COALESCE("firstTokenAt", $2::timestamp), "lastUsedAt" = $2::timestamp
  WHERE id = $4 AND EXISTS (SELECT 1 FROM claimed)
    AND ("firstTokenAt" IS NULL OR "lastUsedAt" IS NULL OR "lastUsedAt" < $2::timestamp - interval '60 seconds')
  RETURNING id
)
SELECT (SELECT count(*)::int FROM claimed) AS claimed, (SELECT count(*)::int FROM a) AS issued`,
);

/** A redeemed code presented again: revoke what it produced (RFC 6749 §4.1.2) and say invalid_grant. */
async function codeReuse(deps: Parameters<GrantHandler>[0], codeId: string, grantId: string | null): Promise<OAuthError> {
  let revoked = 0;
  if (grantId) {
    const counts = await revokeGrant(deps, grantId, RevocationReason.codeReuse);
    revoked = counts.accessTokens + counts.refreshTokens;
  }
  return new OAuthError("invalid_grant", "the authorization code was already used; tokens issued from it are revoked", {
    reason: "code_reuse",
    security: { type: "CODE_REUSE", severity: "high", details: { codeId, grantId, revokedTokens: revoked } },
  });
}
