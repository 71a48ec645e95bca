/**
 * Admin actions leave an audit trail among the security events (type ADMIN_ACTION, low severity): who did it
 * (`userId`, and the client whose token was used when it came through an MCP admin tool), what (`details.action`)
 * and to what (`details.target*`, `clientDbId`). Never a secret.
 *
 * The domain function that carries out an action records it (server/oauth/client-admin.ts, grant-admin.ts,
 * machine-clients.ts, identity-providers.ts, server/auth/people-admin.ts), so the console, the MCP admin tools and
 * the operator's CLI write the same rows for the same action.
 */
import type { DomainEventBus } from "./events.ts";

/** Who carried out an admin action. */
export interface AdminActor {
  /** The admin who acted; null for a machine client holding mcp:admin, or the operator at the command line. */
  userId: string | null;
  /** The action came through an MCP admin tool: the client (Client.id) whose token was used. */
  viaClientDbId?: string;
}

/** The operator running `mcp-oauth-server clients …` / `idp …` (server/cli): no person, no client. */
export const OPERATOR: AdminActor = { userId: null };

export function auditAdminAction(
  deps: { events: DomainEventBus },
  by: AdminActor,
  action: string,
  target: Record<string, string | number | boolean | null>,
): void {
  // A client target is also the event's client, so the security page can filter an admin's changes by client.
  const clientId = typeof target.clientDbId === "string" ? target.clientDbId : null;
  const via = by.viaClientDbId ? { via: "mcp", byClientDbId: by.viaClientDbId } : {};
  deps.events.security({ type: "ADMIN_ACTION", severity: "low", userId: by.userId, clientId, details: { action, ...target, ...via } });
}
