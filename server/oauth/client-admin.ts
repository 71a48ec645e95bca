/**
 * Client administration for the admin console: list and inspect clients, create one by hand (confidential or
 * public), edit its name, redirect URIs and scopes, rotate its secret, disable/enable it, delete it.
 *
 * Validation is the registration endpoint's own (redirect-uris.ts, client-metadata.ts, scopes.ts), so a client made
 * here obeys the same rules as one registered over RFC 7591. Secrets are shown once and stored as SHA-256 digests
 * (client-secrets.ts; RFC 9700 §4.14). Whenever tokens stop being usable early (disable, delete) `oauth.revocation`
 * names the client by both ids, so every node's MCP token cache drops them at once.
 *
 * Each change is audited here (server/audit.ts), whoever asks: the console, an MCP admin tool or the CLI.
 *
 * Ids: `id` arguments are Client row ids (`Client.id`), as in the console's URLs.
 */
import type { ClientKind, Prisma } from "../db/client.ts";
import type { OAuthReadDeps, OAuthStoreDeps } from "./deps.ts";
import { auditAdminAction, type AdminActor } from "../audit.ts";
import { validateClientName } from "./client-metadata.ts";
import { generateClientId, generateClientSecret, isConfidentialMethod } from "./client-secrets.ts";
import { OAuthEvents } from "./emit.ts";
import { OAuthError } from "./errors.ts";
import { revokeGrantsForClient, RevocationReason, type RevocationCounts } from "./grants.ts";
import { validateRedirectUris } from "./redirect-uris.ts";
import { formatScope, isSupportedScope, SUPPORTED_SCOPES } from "./scopes.ts";
import { pageArgs, toPage, type Page, type PageInput } from "../db/pagination.ts";
import { DomainError } from "../domain-error.ts";

/** A request the console cannot carry out; `kind` is mapped to a tRPC code (server/trpc/init.ts). */
export type ClientType = "confidential" | "public";

export interface ClientRow {
  id: string;
  clientId: string;
  name: string;
  kind: ClientKind;
  type: ClientType;
  disabled: boolean;
  createdAt: Date;
  lastUsedAt: Date | null;
  activeGrants: number;
  redirectUris: string[];
  scopes: string[];
}

export interface ClientFilter {
  /** Part of the name, or the client_id / row id (exact or partial). */
  search?: string;
  kind?: ClientKind;
  status?: "active" | "disabled";
}

export type ClientPageInput = PageInput;
export type ClientPage = Page<ClientRow>;

// A private_key_jwt client (machine-clients.ts) is confidential too: it authenticates, with a key instead of a secret.
const typeOf = (method: string): ClientType => (method === "none" ? "public" : "confidential");

/** Clients newest first, keyset-paginated both ways (the cursor is a row id). */
export async function listClients(deps: OAuthReadDeps, filter: ClientFilter, page: ClientPageInput): Promise<ClientPage> {
  const where: Prisma.ClientWhereInput = {
    ...(filter.kind ? { kind: filter.kind } : {}),
    ...(filter.status ? { disabled: filter.status === "disabled" } : {}),
    ...(filter.search
      ? {
          OR: [
            { name: { contains: filter.search, mode: "insensitive" } },
            { clientId: { contains: filter.search, mode: "insensitive" } },
            { id: filter.search },
          ],
        }
      : {}),
  };
  const [rows, total] = await Promise.all([
    deps.prisma.client.findMany({
      where,
      orderBy: [{ createdAt: "desc" }, { id: "desc" }],
      ...pageArgs(page),
      select: {
        id: true,
        clientId: true,
        name: true,
        kind: true,
        tokenEndpointAuthMethod: true,
        disabled: true,
        createdAt: true,
        lastUsedAt: true,
        redirectUris: true,
        scope: true,
        _count: { select: { grants: { where: { revokedAt: null } } } },
      },
    }),
    deps.prisma.client.count({ where }),
  ]);
  const result = toPage(rows, page, total);
  return {
    ...result,
    items: result.items.map(({ _count, tokenEndpointAuthMethod, scope, ...row }) => ({
      ...row,
      type: typeOf(tokenEndpointAuthMethod),
      activeGrants: _count.grants,
      scopes: scope.split(" ").filter(Boolean),
    })),
  };
}

export interface ClientDetails {
  id: string;
  clientId: string;
  name: string;
  kind: ClientKind;
  type: ClientType;
  tokenEndpointAuthMethod: string;
  applicationType: string;
  redirectUris: string[];
  grantTypes: string[];
  scopes: string[];
  clientUri: string | null;
  logoUri: string | null;
  /** Registered metadata as received (never a secret). */
  metadata: unknown;
  disabled: boolean;
  /** Every token request must carry a DPoP proof (RFC 9449 §5.2 `dpop_bound_access_tokens`). */
  dpopRequired: boolean;
  createdBy: { id: string; email: string } | null;
  createdAt: Date;
  updatedAt: Date;
  secretRotatedAt: Date | null;
  firstTokenAt: Date | null;
  lastUsedAt: Date | null;
  metadataFetchedAt: Date | null;
  /** private_key_jwt clients: where their keys are (the URL, or how many keys are stored inline). */
  jwksUri: string | null;
  inlineKeys: number | null;
  counts: {
    activeGrants: number;
    revokedGrants: number;
    /** Distinct people with an active grant. */
    users: number;
    activeAccessTokens: number;
    activeRefreshTokens: number;
    consents: number;
  };
}

/** The client whose public `client_id` is `clientId` (the MCP admin tools name clients that way). */
export async function findClientByClientId(deps: OAuthReadDeps, clientId: string): Promise<{ id: string; clientId: string; name: string }> {
  const client = await deps.prisma.client.findUnique({ where: { clientId }, select: { id: true, clientId: true, name: true } });
  if (!client) throw new DomainError("not_found", "No such client.");
  return client;
}

export async function getClient(deps: OAuthReadDeps, id: string, now = new Date()): Promise<ClientDetails> {
  const client = await deps.prisma.client.findUnique({ where: { id } });
  if (!client) throw new DomainError("not_found", "No such client.");
  const { prisma } = deps;
  const [activeGrants, revokedGrants, users, activeAccessTokens, activeRefreshTokens, consents, createdBy] = await Promise.all([
    prisma.grant.count({ where: { clientId: id, revokedAt: null } }),
    prisma.grant.count({ where: { clientId: id, revokedAt: { not: null } } }),
    prisma.grant.findMany({ where: { clientId: id, revokedAt: null, userId: { not: null } }, distinct: ["userId"], select: { userId: true } }),
    prisma.accessToken.count({ where: { clientId: id, revokedAt: null, expiresAt: { gt: now } } }),
    prisma.refreshToken.count({ where: { clientId: id, revokedAt: null, rotatedAt: null, expiresAt: { gt: now } } }),
    prisma.consent.count({ where: { clientId: id } }),
    client.createdById ? prisma.user.findUnique({ where: { id: client.createdById }, select: { id: true, email: true } }) : null,
  ]);
  return {
    id: client.id,
    clientId: client.clientId,
    name: client.name,
    kind: client.kind,
    type: typeOf(client.tokenEndpointAuthMethod),
    tokenEndpointAuthMethod: client.tokenEndpointAuthMethod,
    applicationType: client.applicationType,
    redirectUris: client.redirectUris,
    grantTypes: client.grantTypes,
    scopes: client.scope.split(" ").filter(Boolean),
    clientUri: client.clientUri,
    logoUri: client.logoUri,
    metadata: client.metadata,
    disabled: client.disabled,
    dpopRequired: client.dpopRequired,
    createdBy,
    createdAt: client.createdAt,
    updatedAt: client.updatedAt,
    secretRotatedAt: client.secretRotatedAt,
    firstTokenAt: client.firstTokenAt,
    lastUsedAt: client.lastUsedAt,
    metadataFetchedAt: client.metadataFetchedAt,
    jwksUri: client.jwksUri,
    inlineKeys: Array.isArray((client.jwks as { keys?: unknown } | null)?.keys) ? (client.jwks as { keys: unknown[] }).keys.length : null,
    counts: { activeGrants, revokedGrants, users: users.length, activeAccessTokens, activeRefreshTokens, consents },
  };
}

/** Validates a list of scopes against what this server supports; at least one. Canonical order. */
export function validateClientScopes(scopes: readonly string[]): string {
  const unknown = scopes.filter((s) => !isSupportedScope(s));
  if (unknown.length > 0) {
    throw new OAuthError("invalid_client_metadata", `unsupported scope ${unknown.join(" ")}; supported: ${SUPPORTED_SCOPES.join(" ")}`);
  }
  const scope = formatScope(scopes);
  if (!scope) throw new OAuthError("invalid_client_metadata", "choose at least one scope");
  return scope;
}

export interface CreateClientInput {
  name: string;
  type: ClientType;
  redirectUris: string[];
  scopes: string[];
}

/**
 * Creates a client by hand (kind MANUAL). A confidential client authenticates with `client_secret_basic` (the
 * RFC 7591 §2 default) and gets a secret, returned here once; a public client uses PKCE alone (`none`).
 */
export async function createManualClient(
  deps: OAuthStoreDeps,
  input: CreateClientInput,
  by: AdminActor,
): Promise<{ client: ClientDetails; clientSecret: string | null }> {
  const name = validateClientName(input.name, "");
  if (!name) throw new OAuthError("invalid_client_metadata", "client_name is required");
  const redirectUris = validateRedirectUris(input.redirectUris);
  const scope = validateClientScopes(input.scopes);
  const tokenEndpointAuthMethod = input.type === "confidential" ? "client_secret_basic" : "none";
  const grantTypes = ["authorization_code", "refresh_token"];
  return storeManualClient(
    deps,
    by,
    {
      name,
      redirectUris,
      grantTypes,
      responseTypes: ["code"],
      scope,
      tokenEndpointAuthMethod,
      applicationType: "web",
      metadata: {
        client_name: name,
        redirect_uris: redirectUris,
        grant_types: grantTypes,
        response_types: ["code"],
        token_endpoint_auth_method: tokenEndpointAuthMethod,
        scope,
      },
    },
    { type: input.type },
  );
}

/**
 * Stores a client an administrator created (kind MANUAL; with a secret, returned here once, when its method is
 * `client_secret_basic`), announces it and audits it with `audit` as details: the one tail of the console's
 * client and machine-client forms.
 */
export async function storeManualClient(
  deps: OAuthStoreDeps,
  by: AdminActor,
  data: Omit<Prisma.ClientUncheckedCreateInput, "clientId" | "clientSecretHash" | "kind" | "createdById">,
  audit: Record<string, unknown>,
): Promise<{ client: ClientDetails; clientSecret: string | null }> {
  const secret = data.tokenEndpointAuthMethod === "client_secret_basic" ? generateClientSecret() : null;
  const row = await deps.prisma.client.create({
    data: { ...data, clientId: generateClientId(), clientSecretHash: secret?.hash ?? null, kind: "MANUAL", createdById: by.userId },
    select: { id: true },
  });
  new OAuthEvents(deps.events).clientRegistered(row.id, "manual");
  auditAdminAction(deps, by, "client.created", { clientDbId: row.id, ...audit });
  return { client: await getClient(deps, row.id), clientSecret: secret?.secret ?? null };
}

export interface UpdateClientInput {
  name?: string;
  redirectUris?: string[];
  scopes?: string[];
}

/**
 * Changes a client's name, redirect URIs or scopes. A metadata-document client is described by its document (the
 * next fetch would undo any change here), so it is refused.
 */
export async function updateClient(deps: OAuthStoreDeps, id: string, input: UpdateClientInput, by: AdminActor): Promise<ClientDetails> {
  const client = await deps.prisma.client.findUnique({ where: { id }, select: { kind: true, metadata: true } });
  if (!client) throw new DomainError("not_found", "No such client.");
  if (client.kind === "METADATA_DOCUMENT") {
    throw new DomainError("precondition", "This client is described by its metadata document; change the document instead.");
  }
  const data: Prisma.ClientUpdateInput = {};
  const metadata: Record<string, unknown> = { ...((client.metadata as Record<string, unknown> | null) ?? {}) };
  if (input.name !== undefined) {
    const name = validateClientName(input.name, "");
    if (!name) throw new OAuthError("invalid_client_metadata", "client_name is required");
    data.name = metadata.client_name = name;
  }
  if (input.redirectUris !== undefined) data.redirectUris = metadata.redirect_uris = validateRedirectUris(input.redirectUris);
  if (input.scopes !== undefined) data.scope = metadata.scope = validateClientScopes(input.scopes);
  if (Object.keys(data).length > 0) {
    await deps.prisma.client.update({ where: { id }, data: { ...data, metadata: metadata as Prisma.InputJsonValue } });
  }
  const fields = (Object.keys(input) as Array<keyof UpdateClientInput>).filter((key) => input[key] !== undefined);
  auditAdminAction(deps, by, "client.updated", { clientDbId: id, fields: fields.join(",") });
  return getClient(deps, id);
}

/**
 * Issues a new secret for a confidential client; the old one stops working at once. Tokens already issued stay
 * valid (revoke them separately if the old secret leaked); refreshing them needs the new secret.
 */
export async function rotateClientSecret(deps: OAuthStoreDeps, id: string, by: AdminActor, now = new Date()): Promise<{ clientSecret: string }> {
  const client = await deps.prisma.client.findUnique({ where: { id }, select: { tokenEndpointAuthMethod: true } });
  if (!client) throw new DomainError("not_found", "No such client.");
  if (!isConfidentialMethod(client.tokenEndpointAuthMethod)) {
    throw new DomainError(
      "precondition",
      client.tokenEndpointAuthMethod === "private_key_jwt" ? "This client authenticates with its keys: it has no secret to rotate." : "This is a public client: it has no secret to rotate.",
    );
  }
  const secret = generateClientSecret();
  await deps.prisma.client.update({ where: { id }, data: { clientSecretHash: secret.hash, secretRotatedAt: now } });
  auditAdminAction(deps, by, "client.secret_rotated", { clientDbId: id });
  return { clientSecret: secret.secret };
}

/**
 * Disables (or re-enables) a client. A disabled client cannot authorize, get or refresh tokens, and its access
 * tokens are refused (tokens.ts, the MCP bearer check); its grants are kept, so enabling it again restores them
 * unless they expired meanwhile.
 */
export async function setClientDisabled(deps: OAuthStoreDeps, id: string, disabled: boolean, by: AdminActor): Promise<{ disabled: boolean }> {
  const client = await deps.prisma.client.findUnique({ where: { id }, select: { clientId: true } });
  if (!client) throw new DomainError("not_found", "No such client.");
  await deps.prisma.client.update({ where: { id }, data: { disabled } });
  // Caches holding this client's verified tokens must drop them now, not when their entries expire.
  if (disabled) new OAuthEvents(deps.events).revoked({ clientId: id }, "client", 0, { clientIds: [id, client.clientId] });
  auditAdminAction(deps, by, disabled ? "client.disabled" : "client.enabled", { clientDbId: id });
  return { disabled };
}

/**
 * The client's DPoP policy (RFC 9449 §5.2): required = its token requests without a proof are refused, so every
 * token it gets from now on is bound to a key. Tokens it already holds keep their binding (or lack of one).
 */
export async function setClientDpopRequired(deps: OAuthStoreDeps, id: string, dpopRequired: boolean, by: AdminActor): Promise<{ dpopRequired: boolean }> {
  const updated = await deps.prisma.client.updateMany({ where: { id }, data: { dpopRequired } });
  if (updated.count === 0) throw new DomainError("not_found", "No such client.");
  auditAdminAction(deps, by, dpopRequired ? "client.dpop_required" : "client.dpop_optional", { clientDbId: id });
  return { dpopRequired };
}

/** Deletes a client: first revokes every grant (tokens and caches), then removes the row and what hangs off it. */
export async function deleteClient(deps: OAuthStoreDeps, id: string, by: AdminActor): Promise<RevocationCounts> {
  const client = await deps.prisma.client.findUnique({ where: { id }, select: { clientId: true } });
  if (!client) throw new DomainError("not_found", "No such client.");
  const counts = await revokeGrantsForClient(deps, id, RevocationReason.clientDeleted);
  await deps.prisma.client.delete({ where: { id } });
  new OAuthEvents(deps.events).revoked({ clientId: id }, "client", 0, { clientIds: [id, client.clientId] });
  auditAdminAction(deps, by, "client.deleted", { clientDbId: id, grants: counts.grants });
  return counts;
}
