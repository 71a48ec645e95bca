/**
 * Admin tools about OAuth clients: list them (with how many live grants each has) and revoke every token a
 * client holds (through server/oauth/grants.ts: one transaction, then `oauth.revocation` to every node's cache).
 * Each admin action leaves an ADMIN_ACTION audit event.
 */
import { z } from "zod";
import { revokeGrantsForClient, RevocationReason } from "../../oauth/grants.ts";
import { auditAdminAction } from "../../auth/audit.ts";
import { requireAdmin } from "./admin-guard.ts";
import { McpScope } from "../../oauth/scopes.ts";
import { defineTool, ToolError } from "./types.ts";

export const adminListClients = defineTool({
  name: "admin_list_clients",
  title: "List OAuth clients (admin)",
  description:
    "Administrators: lists registered OAuth clients, newest first, optionally filtered by a name or client_id fragment, with their kind, redirect URIs, status, last use and number of active grants.",
  inputSchema: {
    search: z.string().trim().min(1).max(200).optional().describe("Part of the client name or client_id"),
    includeDisabled: z.boolean().default(true).describe("Include disabled clients (default true)"),
    limit: z.number().int().min(1).max(100).default(25).describe("How many to return (1-100, default 25)"),
  },
  annotations: { title: "List OAuth clients", readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  scopes: [McpScope.admin],
  admin: true,
  async handler({ search, includeDisabled, limit }, context) {
    await requireAdmin(context);
    const { prisma } = context.services;
    const where = {
      ...(search
        ? {
            OR: [
              { name: { contains: search, mode: "insensitive" as const } },
              { clientId: { contains: search, mode: "insensitive" as const } },
            ],
          }
        : {}),
      ...(includeDisabled ? {} : { disabled: false }),
    };
    const [total, clients] = await Promise.all([
      prisma.client.count({ where }),
      prisma.client.findMany({
        where,
        orderBy: [{ createdAt: "desc" }, { id: "desc" }],
        take: limit,
        select: {
          id: true,
          clientId: true,
          name: true,
          kind: true,
          redirectUris: true,
          tokenEndpointAuthMethod: true,
          scope: true,
          disabled: true,
          createdAt: true,
          lastUsedAt: true,
          _count: { select: { grants: { where: { revokedAt: null } } } },
        },
      }),
    ]);
    return {
      total,
      clients: clients.map((client) => ({
        clientId: client.clientId,
        name: client.name,
        kind: client.kind,
        confidential: client.tokenEndpointAuthMethod !== "none",
        redirectUris: client.redirectUris,
        scope: client.scope,
        disabled: client.disabled,
        createdAt: client.createdAt.toISOString(),
        lastUsedAt: client.lastUsedAt?.toISOString() ?? null,
        activeGrants: client._count.grants,
      })),
    };
  },
});

export const adminRevokeClientTokens = defineTool({
  name: "admin_revoke_client_tokens",
  title: "Revoke a client's tokens (admin)",
  description:
    "Administrators: revokes every grant of one OAuth client (by its client_id), so all its access and refresh tokens stop working at once. The client stays registered; its users must authorize it again.",
  inputSchema: {
    clientId: z.string().min(1).max(2048).describe("The client's public client_id (see admin_list_clients)"),
  },
  annotations: {
    title: "Revoke a client's tokens",
    readOnlyHint: false,
    destructiveHint: true,
    idempotentHint: true,
    openWorldHint: false,
  },
  scopes: [McpScope.admin],
  admin: true,
  async handler({ clientId }, context) {
    await requireAdmin(context);
    const { services, caller } = context;
    const client = await services.prisma.client.findUnique({ where: { clientId }, select: { id: true, name: true } });
    if (!client) throw new ToolError(`No client with client_id "${clientId}" (see admin_list_clients)`);
    const counts = await revokeGrantsForClient(services, client.id, RevocationReason.admin);
    auditAdminAction(services, caller.userId, "client.revoke_tokens", {
      targetClientId: clientId,
      ...(caller.userId ? {} : { byClientId: caller.clientId }),
      via: "mcp",
      grants: counts.grants,
    });
    return { clientId, name: client.name, grants: counts.grants, accessTokens: counts.accessTokens, refreshTokens: counts.refreshTokens };
  },
});
