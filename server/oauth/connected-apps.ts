/**
 * A person's own connected apps (the grants they gave), for the account page. Revoking one also forgets the
 * remembered consent for that app, so it has to ask again before it gets new tokens.
 */
import { DomainError } from "../domain-error.ts";
import type { OAuthStoreDeps } from "./deps.ts";
import { forgetConsents } from "./consents.ts";
import { listActiveGrants, revokeGrant, RevocationReason, type ActiveGrant, type RevocationCounts } from "./grants.ts";

/** The user's grants that can still be used, newest first (a person has few; 100 is plenty). */
export async function listConnectedApps(deps: OAuthStoreDeps, userId: string): Promise<ActiveGrant[]> {
  const { items } = await listActiveGrants(deps, { userId, take: 100 });
  return items;
}

/** Revokes one of the user's own grants (another person's grant id is "not found") and forgets the consent. */
export async function disconnectApp(deps: OAuthStoreDeps, userId: string, grantId: string): Promise<RevocationCounts> {
  const grant = await deps.prisma.grant.findFirst({ where: { id: grantId, userId, revokedAt: null }, select: { clientId: true } });
  if (!grant) throw new DomainError("not_found", "No such connected app.");
  const counts = await revokeGrant(deps, grantId, RevocationReason.user, { userId });
  await forgetConsents(deps.prisma, userId, grant.clientId);
  return counts;
}
