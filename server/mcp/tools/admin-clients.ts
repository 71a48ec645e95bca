/**
 * Admin tools about OAuth clients: list them (with how many live grants each has) and revoke every token a
 * client holds. They call the console's own domain functions (server/oauth/client-admin.ts, grant-admin.ts): the
 * same search, the same revocation (one transaction, then `oauth.revocation` to every node's cache) and the same
 * ADMIN_ACTION audit row, which also names the client whose token was used.
 */
import { z } from "zod";
import { DomainError } from "../../domain-error.ts";
import { findClientByClientId, listClients } from "../../oauth/client-admin.ts";
import { revokeClientGrantsAsAdmin } from "../../oauth/grant-admin.ts";
import { adminActor, requireAdmin } from "./admin-guard.ts";
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
    const page = await listClients(context.services, { search, status: includeDisabled ? undefined : "active" }, { direction: "forward", limit });
    return {
      total: page.total,
      clients: page.items.map((client) => ({
        clientId: client.clientId,
        name: client.name,
        kind: client.kind,
        confidential: client.type === "confidential",
        redirectUris: client.redirectUris,
        scope: client.scopes.join(" "),
        disabled: client.disabled,
        createdAt: client.createdAt.toISOString(),
        lastUsedAt: client.lastUsedAt?.toISOString() ?? null,
        activeGrants: client.activeGrants,
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
    const client = await findClientByClientId(services, clientId).catch((error: unknown) => {
      if (error instanceof DomainError && error.kind === "not_found") throw new ToolError(`No client with client_id "${clientId}" (see admin_list_clients)`);
      throw error;
    });
    const counts = await revokeClientGrantsAsAdmin(services, client.id, adminActor(caller));
    return { clientId, name: client.name, grants: counts.grants, accessTokens: counts.accessTokens, refreshTokens: counts.refreshTokens };
  },
});
