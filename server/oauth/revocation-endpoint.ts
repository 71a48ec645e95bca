/**
 * POST /api/oauth/revoke (RFC 7009).
 *
 * The client authenticates like at the token endpoint (public clients name themselves with client_id, RFC 7009 §5).
 * Revoking a refresh token revokes its whole grant, access tokens included (RFC 7009 §2.1); revoking an access token
 * revokes that token. Unknown, expired, already revoked tokens and tokens of another client get the same empty 200
 * (RFC 7009 §2.2), so the endpoint cannot be used to probe for tokens. `token_type_hint` is only a hint: tokens are
 * recognised by their prefix.
 */
import { SecretPrefix, sha256Hex } from "../crypto.ts";
import type { EventOrigin } from "../events.ts";
import { authenticateClient } from "./client-auth.ts";
import type { OAuthDeps } from "./deps.ts";
import type { OAuthHttpRequest } from "./endpoint-http.ts";
import { RevocationReason, revokeGrant } from "./grants.ts";
import { bodyParams } from "./request-params.ts";

export async function handleRevocationRequest(deps: OAuthDeps, request: OAuthHttpRequest, origin: EventOrigin): Promise<void> {
  const params = await bodyParams(request);
  const { client } = await authenticateClient(deps.clients, request, params, deps.assertions, { cached: true });
  origin.clientId = client.id;
  const token = params.require("token");
  if (token.length > 200) return;
  const now = new Date();

  if (token.startsWith(SecretPrefix.refreshToken)) {
    const row = await deps.prisma.refreshToken.findUnique({ where: { tokenHash: sha256Hex(token) }, select: { grantId: true, clientId: true, userId: true } });
    if (!row || row.clientId !== client.id) return;
    origin.userId = row.userId;
    await revokeGrant(deps, row.grantId, RevocationReason.revocationEndpoint, { kind: "refresh_token" });
    return;
  }
  if (token.startsWith(SecretPrefix.accessToken)) {
    const row = await deps.prisma.accessToken.findUnique({ where: { tokenHash: sha256Hex(token) }, select: { id: true, clientId: true, userId: true, grantId: true } });
    if (!row || row.clientId !== client.id) return;
    origin.userId = row.userId;
    const { count } = await deps.prisma.accessToken.updateMany({
      where: { id: row.id, revokedAt: null, expiresAt: { gt: now } },
      data: { revokedAt: now },
    });
    if (count > 0) deps.emit.revoked(origin, "access_token", count, { accessTokenIds: [row.id] });
  }
}
