/**
 * Admin tools need both the `mcp:admin` scope on the token and the ADMIN role on the person. The role is read
 * fresh from the database at each admin call (the token cache may hold a role up to MCP_TOKEN_CACHE_SECONDS old),
 * so a demoted admin loses the tools at once. A machine client's token (no person) carries `mcp:admin` only when an
 * admin registered the client with it (client_credentials never grants more than the client's registered scope);
 * its registration is read fresh too, so removing the scope or disabling the client takes the tools away at once.
 */
import type { AdminActor } from "../../audit.ts";
import { McpScope, missingScopes } from "../../oauth/scopes.ts";
import type { McpCaller } from "../bearer.ts";
import { ToolError, type ToolContext } from "./types.ts";

/** Whether the caller sees admin tools (from the verified token; the call itself re-checks the role). */
export function callerIsAdmin(caller: McpCaller): boolean {
  return (caller.userId === null || caller.role === "ADMIN") && holdsAdminScope(caller);
}

export async function requireAdmin({ services, caller }: ToolContext): Promise<void> {
  if (!holdsAdminScope(caller)) {
    throw new ToolError(`This tool needs the ${McpScope.admin} scope`, "denied");
  }
  if (caller.userId === null) {
    const client = await services.prisma.client.findUnique({ where: { id: caller.clientDbId }, select: { scope: true, disabled: true } });
    if (!client || client.disabled || missingScopes(client.scope.split(" "), [McpScope.admin]).length > 0) {
      throw new ToolError("This machine client is not allowed the administrator tools", "denied");
    }
    return;
  }
  const user = await services.prisma.user.findUnique({ where: { id: caller.userId }, select: { role: true } });
  if (user?.role !== "ADMIN") throw new ToolError("This tool is for administrators", "denied");
}

/** Who an admin tool acts as, for the audit row (server/audit.ts): the person, if any, through the caller's client. */
export function adminActor(caller: McpCaller): AdminActor {
  return { userId: caller.userId, viaClientDbId: caller.clientDbId };
}

function holdsAdminScope(caller: McpCaller): boolean {
  return missingScopes(caller.scopes, [McpScope.admin]).length === 0;
}
