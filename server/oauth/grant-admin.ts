/**
 * Revocations an administrator starts from the console: one grant, every grant of a client, every grant of a user.
 * Each one refuses an unknown target ("not found", rather than a silent zero) and goes through grants.ts, so
 * `oauth.revocation` reaches every node's token cache. Ids are row ids (`Client.id`, `User.id`, `Grant.id`).
 */
import { DomainError } from "../domain-error.ts";
import type { Services } from "../services.ts";
import { revokeGrant, revokeGrantsForClient, revokeGrantsForUser, RevocationReason, type RevocationCounts } from "./grants.ts";

type Deps = Pick<Services, "prisma" | "events">;

export async function revokeGrantAsAdmin(deps: Deps, grantId: string): Promise<RevocationCounts> {
  const counts = await revokeGrant(deps, grantId, RevocationReason.admin);
  if (counts.grants === 0) throw new DomainError("not_found", "No such active grant (already revoked?).");
  return counts;
}

export async function revokeClientGrantsAsAdmin(deps: Deps, clientDbId: string): Promise<RevocationCounts> {
  const client = await deps.prisma.client.findUnique({ where: { id: clientDbId }, select: { id: true } });
  if (!client) throw new DomainError("not_found", "No such client.");
  return revokeGrantsForClient(deps, client.id, RevocationReason.admin);
}

export async function revokeUserGrantsAsAdmin(deps: Deps, userId: string): Promise<RevocationCounts> {
  const user = await deps.prisma.user.findUnique({ where: { id: userId }, select: { id: true } });
  if (!user) throw new DomainError("not_found", "No such user.");
  return revokeGrantsForUser(deps, user.id, RevocationReason.admin);
}
