/**
 * Trusted identity providers for enterprise-managed authorization (MCP extension; draft-ietf-oauth-identity-
 * assertion-authz-grant): an administrator names an IdP by its issuer identifier and its signing keys (the https URL
 * of its JWK Set, or the set itself), and whether its assertions may create people on first use. The console and
 * the CLI (`mcp-oauth-server idp add|list|remove`) call these functions; grant-types/jwt-bearer.ts reads them.
 *
 * Removing a provider first revokes every grant its assertions produced (their tokens stop at once on every node).
 */
import type { Prisma, PrismaClient } from "../db/client.ts";
import { DomainError } from "../domain-error.ts";
import { isLoopbackHostname } from "../loopback.ts";
import type { OAuthStoreDeps } from "./deps.ts";
import { KeySetError, parseJwks } from "./key-sets.ts";
import { auditAdminAction, type AdminActor } from "../audit.ts";
import { revokeGrantsForIdentityProvider, type RevocationCounts } from "./grants.ts";

export interface IdentityProviderRow {
  id: string;
  issuer: string;
  jwksUri: string | null;
  /** Number of keys when the set is stored inline. */
  inlineKeys: number | null;
  allowNewUsers: boolean;
  disabled: boolean;
  createdAt: Date;
  /** Grants its assertions produced that are not revoked. */
  activeGrants: number;
}

export interface AddIdentityProviderInput {
  issuer: string;
  jwksUri?: string | null;
  /** A JWK Set (RFC 7517 §5), parsed JSON. */
  jwks?: unknown;
  allowNewUsers?: boolean;
}

/** Revocation reason for grants whose identity provider was removed. */
export const IDP_REMOVED = "identity_provider_removed";

/** https (http only on a loopback host, for local development); no query, fragment or credentials. */
function checkUrl(value: string, what: string, allowHttpLoopback: boolean): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new DomainError("invalid", `${what} must be an absolute URL`);
  }
  const httpOk = allowHttpLoopback && url.protocol === "http:" && isLoopbackHostname(url.hostname);
  if (url.protocol !== "https:" && !httpOk) throw new DomainError("invalid", `${what} must be an https URL`);
  if (url.username || url.password || url.hash) throw new DomainError("invalid", `${what} must not carry credentials or a fragment`);
  if (value.length > 2000) throw new DomainError("invalid", `${what} is too long`);
  return value;
}

function toRow(row: Prisma.IdentityProviderGetPayload<{ include: { _count: { select: { grants: true } } } }>): IdentityProviderRow {
  const keys = (row.jwks as { keys?: unknown[] } | null)?.keys;
  return {
    id: row.id,
    issuer: row.issuer,
    jwksUri: row.jwksUri,
    inlineKeys: Array.isArray(keys) ? keys.length : null,
    allowNewUsers: row.allowNewUsers,
    disabled: row.disabled,
    createdAt: row.createdAt,
    activeGrants: row._count.grants,
  };
}

const withCount = { _count: { select: { grants: { where: { revokedAt: null } } } } } as const;

export async function listIdentityProviders(deps: { prisma: PrismaClient }): Promise<IdentityProviderRow[]> {
  const rows = await deps.prisma.identityProvider.findMany({ orderBy: { issuer: "asc" }, include: withCount });
  return rows.map(toRow);
}

/** Adds a trusted identity provider. The issuer must be new; exactly one of `jwksUri` and `jwks`. */
export async function addIdentityProvider(
  deps: OAuthStoreDeps,
  input: AddIdentityProviderInput,
  by: AdminActor,
): Promise<IdentityProviderRow> {
  const issuer = checkUrl(input.issuer.trim(), "issuer", true);
  const hasUri = Boolean(input.jwksUri);
  const hasSet = input.jwks !== undefined && input.jwks !== null;
  if (hasUri === hasSet) throw new DomainError("invalid", "give exactly one of a JWKS URI and a JWK Set");
  const jwksUri = hasUri ? checkUrl(input.jwksUri!.trim(), "jwks_uri", false) : null;
  let jwks: Prisma.InputJsonValue | undefined;
  if (hasSet) {
    try {
      jwks = parseJwks(input.jwks) as unknown as Prisma.InputJsonValue;
    } catch (error) {
      throw new DomainError("invalid", error instanceof KeySetError ? error.message : "the JWK Set is invalid");
    }
  }
  const existing = await deps.prisma.identityProvider.findUnique({ where: { issuer }, select: { id: true } });
  if (existing) throw new DomainError("conflict", `an identity provider with issuer ${issuer} already exists`);
  const row = await deps.prisma.identityProvider.create({
    data: { issuer, jwksUri, jwks, allowNewUsers: input.allowNewUsers === true, createdById: by.userId },
    include: withCount,
  });
  auditAdminAction(deps, by, "identity_provider.added", { issuer: row.issuer, allowNewUsers: row.allowNewUsers });
  return toRow(row);
}

/** Finds a provider by row id or issuer. */
async function find(deps: { prisma: PrismaClient }, idOrIssuer: string) {
  const row = await deps.prisma.identityProvider.findFirst({ where: { OR: [{ id: idOrIssuer }, { issuer: idOrIssuer }] }, select: { id: true, issuer: true } });
  if (!row) throw new DomainError("not_found", "No such identity provider.");
  return row;
}

/** Enables or disables a provider: a disabled one's assertions are refused (its existing tokens keep working). */
export async function setIdentityProviderDisabled(
  deps: OAuthStoreDeps,
  idOrIssuer: string,
  disabled: boolean,
  by: AdminActor,
): Promise<{ disabled: boolean }> {
  const row = await find(deps, idOrIssuer);
  await deps.prisma.identityProvider.update({ where: { id: row.id }, data: { disabled } });
  auditAdminAction(deps, by, disabled ? "identity_provider.disabled" : "identity_provider.enabled", { issuer: idOrIssuer });
  return { disabled };
}

/** Removes a provider (by row id or issuer) after revoking every grant its assertions produced. */
export async function removeIdentityProvider(
  deps: OAuthStoreDeps,
  idOrIssuer: string,
  by: AdminActor,
): Promise<RevocationCounts & { issuer: string }> {
  const row = await find(deps, idOrIssuer);
  const counts = await revokeGrantsForIdentityProvider(deps, row.id, IDP_REMOVED);
  await deps.prisma.identityProvider.delete({ where: { id: row.id } });
  auditAdminAction(deps, by, "identity_provider.removed", { issuer: row.issuer, grants: counts.grants });
  return { ...counts, issuer: row.issuer };
}

/** The enabled provider whose issuer identifier is exactly `issuer` (RFC 7519 §4.1.1: a case-sensitive string). */
export async function trustedIdentityProvider(deps: { prisma: PrismaClient }, issuer: string) {
  if (issuer.length > 2000) return null;
  const row = await deps.prisma.identityProvider.findUnique({ where: { issuer } });
  return row && !row.disabled ? row : null;
}
