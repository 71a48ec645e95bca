import type { LoaderFunctionArgs } from "@remix-run/node";

/**
 * GET /api/analytics/security: security events and a summary of the range (administrators only; 401 anonymous,
 * 403 others). Query: from, to, limit, cursor, eventType, severity, clientId, reviewed.
 */
export function loader({ request, context }: LoaderFunctionArgs) {
  return context.services.reporting.listSecurity(request, context.meta);
}
