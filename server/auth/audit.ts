/**
 * Admin actions leave an audit trail among the security events (type ADMIN_ACTION, low severity): who did it
 * (`userId`), what (`details.action`) and to what (`details.target*`). Never a secret.
 */
import type { DomainEventBus } from "../events.ts";

export function auditAdminAction(
  deps: { events: DomainEventBus },
  /** The admin who acted; null for a machine client holding mcp:admin (then `target` names the client). */
  byUserId: string | null,
  action: string,
  target: Record<string, string | number | boolean | null>,
): void {
  // A client target is also the event's client, so the security page can filter an admin's changes by client.
  const clientId = typeof target.clientDbId === "string" ? target.clientDbId : null;
  deps.events.security({ type: "ADMIN_ACTION", severity: "low", userId: byUserId, clientId, details: { action, ...target } });
}
