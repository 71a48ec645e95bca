/**
 * Revocations an administrator starts (from the console or an MCP admin tool): one grant, every grant of a client,
 * every grant of a user. Each one refuses an unknown target ("not found", rather than a silent zero), goes through
 * grants.ts, so `oauth.revocation` reaches every node's token cache, and is audited (server/audit.ts). Ids are row
 * ids (`Client.id`, `User.id`, `Grant.id`).
 */
import { auditAdminAction, type AdminActor } from "../audit.ts";
import { DomainError } from "../domain-error.ts";
import type { OAuthStoreDeps } from "./deps.ts";
import { revokeGrant, revokeGrantsForClient, revokeGrantsForUser, RevocationReason, type RevocationCounts } from "./grants.ts";

export async function revokeGrantAsAdmin(deps: OAuthStoreDeps, grantId: string, by: AdminActor): Promise<RevocationCounts> {
  const counts = await revokeGrant(deps, grantId, RevocationReason.admin);
  if (counts.grants === 0) throw new DomainError("not_found", "No such active grant (already revoked?).");
  auditAdminAction(deps, by, "grant.revoked", { grantId });
  return counts;
}

export async function revokeClientGrantsAsAdmin(deps: OAuthStoreDeps, clientDbId: string, by: AdminActor): Promise<RevocationCounts> {
  const client = await deps.prisma.client.findUnique({ where: { id: clientDbId }, select: { id: true } });
  if (!client) throw new DomainError("not_found", "No such client.");
  const counts = await revokeGrantsForClient(deps, client.id, RevocationReason.admin);
  auditAdminAction(deps, by, "client.tokens_revoked", { clientDbId, grants: counts.grants });
  return counts;
}

export async function revokeUserGrantsAsAdmin(deps: OAuthStoreDeps, userId: string, by: AdminActor): Promise<RevocationCounts> {
  const user = await deps.prisma.user.findUnique({ where: { id: userId }, select: { id: true } });
  if (!user) throw new DomainError("not_found", "No such user.");
  const counts = await revokeGrantsForUser(deps, user.id, RevocationReason.admin);
  auditAdminAction(deps, by, "user.tokens_revoked", { targetUserId: userId, grants: counts.grants });
  return counts;
}
