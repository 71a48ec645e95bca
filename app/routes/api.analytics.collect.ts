import type { ActionFunctionArgs } from "@remix-run/node";

/**
 * POST /api/analytics/collect: client-side events from a signed-in administrator or a bearer token with the
 * `mcp:admin` scope; JSON, at most 64 KB and 100 events.
 */
export function action({ request, context }: ActionFunctionArgs) {
  if (request.method !== "POST") return methodNotAllowed();
  return context.services.reporting.collect(request, context.meta);
}

export function loader() {
  return methodNotAllowed();
}

function methodNotAllowed() {
  return new Response(JSON.stringify({ error: "invalid_request", error_description: "Use POST" }), {
    status: 405,
    headers: { Allow: "POST", "Content-Type": "application/json", "Cache-Control": "no-store" },
  });
}
