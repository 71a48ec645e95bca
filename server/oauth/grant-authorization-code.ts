/**
 * The `authorization_code` grant (RFC 6749 §4.1.3, OAuth 2.1 §4.1.3, RFC 7636 §4.5-4.6, RFC 8707 §2.2).
 *
 * Steps, each failing with one OAuthError: findCode → checkClientBinding → checkNotRedeemed → checkExpiry →
 * checkRedirectUri → checkPkce → checkResource → claimAndIssue. Every check happens BEFORE the code is consumed, so
 * a mistaken request does not burn the code. The claim is one conditional UPDATE (`consumedAt IS NULL`) in the same
 * transaction that creates the grant and its tokens: of N concurrent redemptions exactly one wins. A code presented
 * after it was redeemed revokes the grant it produced (RFC 6749 §4.1.2, RFC 9700 §4.5) and records CODE_REUSE.
 */
import { SecretPrefix, sha256Hex } from "../crypto.ts";
import { OAuthError } from "./errors.ts";
import { RevocationReason, revokeGrantsWhere } from "./grants.ts";
import { CODE_VERIFIER, verifyCodeVerifier } from "./pkce.ts";
import { audienceCovers, resolveResource } from "./resources.ts";
import { issueTokens, type TokenResponse } from "./tokens.ts";
import type { GrantHandler } from "./token-endpoint.ts";

export const redeemAuthorizationCode: GrantHandler = async (deps, { params, client, origin, now }) => {
  const { prisma, env } = deps;
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
      ? await prisma.authorizationCode.findUnique({ where: { codeHash: sha256Hex(code) } })
      : null;
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
  if (!audienceCovers(row.resource, audience, env.APP_URL)) {
    throw new OAuthError("invalid_target", "resource is not the one the authorization was granted for", { reason: "resource_mismatch" });
  }

  // claimAndIssue
  const withRefresh = client.grantTypes.includes("refresh_token");
  const result = await prisma.$transaction(async (tx) => {
    const claimed = await tx.authorizationCode.updateMany({
      where: { id: row.id, consumedAt: null, expiresAt: { gt: now } },
      data: { consumedAt: now },
    });
    if (claimed.count !== 1) return null;
    const grant = await tx.grant.create({
      data: { userId: row.userId, clientId: client.id, scope: row.scope, resource: row.resource, lastUsedAt: now, createdAt: now },
      select: { id: true },
    });
    await tx.authorizationCode.update({ where: { id: row.id }, data: { grantId: grant.id } });
    const issued = await issueTokens(
      tx,
      env,
      {
        grantId: grant.id,
        clientDbId: client.id,
        userId: row.userId,
        scope: row.scope,
        resource: audience,
        refresh: withRefresh ? { scope: row.scope, resource: row.resource } : undefined,
      },
      now,
    );
    if (!client.firstTokenAt) {
      await tx.client.updateMany({ where: { id: client.id, firstTokenAt: null }, data: { firstTokenAt: now } });
    }
    return issued;
  });
  if (!result) {
    // Lost the race: another redemption of the same code committed first.
    const current = await prisma.authorizationCode.findUnique({ where: { id: row.id }, select: { grantId: true } });
    throw await codeReuse(deps, row.id, current?.grantId ?? null);
  }
  origin.userId = row.userId;
  await deps.clients.markUsed(client.id, now);
  deps.events.tokenIssued(origin, "authorization_code", withRefresh);
  return result.response satisfies TokenResponse;
};

/** A redeemed code presented again: revoke what it produced (RFC 6749 §4.1.2) and say invalid_grant. */
async function codeReuse(deps: Parameters<GrantHandler>[0], codeId: string, grantId: string | null): Promise<OAuthError> {
  let revoked = 0;
  if (grantId) {
    const counts = await revokeGrantsWhere({ prisma: deps.prisma, events: deps.bus }, { id: grantId }, RevocationReason.codeReuse, "grant");
    revoked = counts.accessTokens + counts.refreshTokens;
  }
  return new OAuthError("invalid_grant", "the authorization code was already used; tokens issued from it are revoked", {
    reason: "code_reuse",
    security: { type: "CODE_REUSE", severity: "high", details: { codeId, grantId, revokedTokens: revoked } },
  });
}
