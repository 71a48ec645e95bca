import type { LoaderFunctionArgs } from "@remix-run/node";

/**
 * GET /api/analytics: request analytics rows and a summary of the range (administrators only; 401 anonymous,
 * 403 others). Query: from, to, limit, cursor, endpoint, method, status, clientId, userId.
 */
export function loader({ request, context }: LoaderFunctionArgs) {
  return context.services.reporting.listRequests(request, context.meta);
}
