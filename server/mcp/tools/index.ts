/** Every MCP tool this server offers, in `tools/list` order. */
import { adminAnalyticsSummary, adminSecurityEvents } from "./admin-analytics.ts";
import { adminListClients, adminRevokeClientTokens } from "./admin-clients.ts";
import { listConnectedApps, revokeConnectedApp } from "./connected-apps.ts";
import type { ToolDefinition } from "./types.ts";
import { whoami } from "./whoami.ts";

export const tools: ToolDefinition[] = [
  whoami,
  listConnectedApps,
  revokeConnectedApp,
  adminListClients,
  adminRevokeClientTokens,
  adminAnalyticsSummary,
  adminSecurityEvents,
] as unknown as ToolDefinition[];
