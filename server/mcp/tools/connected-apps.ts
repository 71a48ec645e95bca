/**
 * The caller's own connected apps: every grant (one authorization of one app) that can still use or refresh a
 * token, and revoking one of them — the same as the account page (server/oauth/connected-apps.ts): the grant and its
 * tokens are revoked in one transaction, `oauth.revocation` makes caches everywhere drop them, and the remembered
 * consent is forgotten.
 */
import { z } from "zod";
import { disconnectApp } from "../../oauth/connected-apps.ts";
import { DomainError } from "../../domain-error.ts";
import { listActiveGrants } from "../../oauth/grants.ts";
import { McpScope } from "../../oauth/scopes.ts";
import { defineTool, ToolError } from "./types.ts";

export const listConnectedApps = defineTool({
  name: "list_connected_apps",
  title: "List my connected apps",
  description:
    "Lists the apps you have authorized that can still act for you: the app's name and client_id, the scopes and resource granted, when you authorized it and when it was last used. Use the grant id with revoke_connected_app.",
  inputSchema: {
    limit: z.number().int().min(1).max(100).default(50).describe("How many to return (1-100, default 50)"),
    cursor: z.string().max(64).optional().describe("nextCursor from a previous call, for the next page"),
  },
  annotations: { title: "List my connected apps", readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  scopes: [McpScope.toolsRead],
  async handler({ limit, cursor }, { services, caller }) {
    if (caller.userId === null) throw machineCaller();
    const page = await listActiveGrants(services, { userId: caller.userId, take: limit, cursor });
    return {
      apps: page.items.map((grant) => ({
        grantId: grant.id,
        clientId: grant.clientId,
        name: grant.clientName,
        scopes: grant.scopes,
        resource: grant.resource,
        authorizedAt: grant.createdAt.toISOString(),
        lastUsedAt: grant.lastUsedAt?.toISOString() ?? null,
        thisConnection: grant.id === caller.grantId,
      })),
      nextCursor: page.nextCursor,
    };
  },
});

export const revokeConnectedApp = defineTool({
  name: "revoke_connected_app",
  title: "Revoke a connected app",
  description:
    "Revokes one of your connected apps (by the grantId from list_connected_apps): its access and refresh tokens stop working at once and the app must ask for your consent again, as on the account page. Revoking the grant of this very connection ends this connection too.",
  inputSchema: {
    grantId: z.string().min(1).max(64).describe("The grantId from list_connected_apps"),
  },
  annotations: {
    title: "Revoke a connected app",
    readOnlyHint: false,
    destructiveHint: true,
    idempotentHint: true,
    openWorldHint: false,
  },
  scopes: [McpScope.toolsWrite],
  async handler({ grantId }, { services, caller }) {
    if (caller.userId === null) throw machineCaller();
    const counts = await disconnectApp(services, caller.userId, grantId).catch((error: unknown) => {
      if (error instanceof DomainError && error.kind === "not_found") {
        throw new ToolError(`No active connected app with grantId "${grantId}" (see list_connected_apps)`);
      }
      throw error;
    });
    return { revoked: true, grantId, accessTokens: counts.accessTokens, refreshTokens: counts.refreshTokens };
  },
});

/** A machine client's token (client_credentials) acts for no person, so there are no connected apps to show. */
function machineCaller(): ToolError {
  return new ToolError("This tool lists a person's connected apps; a machine client acts for no person");
}
