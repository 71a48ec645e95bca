/**
 * Remembered consent: what a user allowed a client for a resource. A later authorization request for the same
 * client and resource whose scopes are covered skips the consent page (unless `prompt=consent`).
 */
import type { PrismaClient } from "../db/client.ts";
import { formatScope, parseScope, scopesCover } from "./scopes.ts";

/** The scopes a user already allowed a client for a resource (none when never asked). */
export async function rememberedScopes(prisma: PrismaClient, key: { userId: string; clientDbId: string; resource: string }): Promise<string[]> {
  const consent = await prisma.consent.findUnique({
    where: { userId_clientId_resource: { userId: key.userId, clientId: key.clientDbId, resource: key.resource } },
    select: { scope: true },
  });
  return consent ? parseScope(consent.scope) : [];
}

export function consentCovers(remembered: readonly string[], scopes: readonly string[]): boolean {
  return remembered.length > 0 && scopesCover(remembered, scopes);
}

/** Records (or widens) a consent. */
export async function rememberConsent(
  prisma: PrismaClient,
  key: { userId: string; clientDbId: string; resource: string },
  scopes: readonly string[],
): Promise<void> {
  const where = { userId_clientId_resource: { userId: key.userId, clientId: key.clientDbId, resource: key.resource } };
  const existing = await prisma.consent.findUnique({ where, select: { scope: true } });
  const scope = formatScope([...parseScope(existing?.scope), ...scopes]);
  await prisma.consent.upsert({
    where,
    create: { userId: key.userId, clientId: key.clientDbId, resource: key.resource, scope },
    update: { scope },
  });
}

/** Forgets every consent of a user for a client (the user revoked the app). */
export async function forgetConsents(prisma: PrismaClient, userId: string, clientDbId: string): Promise<number> {
  const { count } = await prisma.consent.deleteMany({ where: { userId, clientId: clientDbId } });
  return count;
}
