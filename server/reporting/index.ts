/**
 * The reporting API (`services.reporting`), the HTTP face of the analytics tables for administrators:
 * `GET /api/analytics`, `GET /api/analytics/security` and `POST /api/analytics/collect` (api.ts; Remix resource
 * routes app/routes/api.analytics*.ts). Callers are checked by admin-access.ts, which uses the MCP resource server's
 * bearer check; that is why this module is apart from server/analytics (the event sink, which the MCP server itself
 * records into) and built after server/mcp.
 */
import type { AnalyticsRecorder } from "../analytics/recorder.ts";
import type { PrismaClient } from "../db/client.ts";
import type { RequestMeta } from "../request/meta.ts";
import type { AdminAccessDeps } from "./admin-access.ts";
import { collectResponse, listRequestsResponse, listSecurityResponse } from "./api.ts";

export interface Reporting {
  listRequests(request: Request, meta?: RequestMeta): Promise<Response>;
  listSecurity(request: Request, meta?: RequestMeta): Promise<Response>;
  collect(request: Request, meta?: RequestMeta): Promise<Response>;
}

export interface ReportingDeps extends AdminAccessDeps {
  prisma: PrismaClient;
  /** Where collected events are written; absent when ANALYTICS_ENABLED=false (services.analytics.recorder). */
  recorder: AnalyticsRecorder | undefined;
}

export function createReporting(deps: ReportingDeps): Reporting {
  const { recorder, ...apiDeps } = deps;
  return {
    listRequests: (request, meta) => listRequestsResponse(apiDeps, request, meta),
    listSecurity: (request, meta) => listSecurityResponse(apiDeps, request, meta),
    collect: (request, meta) => collectResponse(apiDeps, recorder, request, meta),
  };
}
