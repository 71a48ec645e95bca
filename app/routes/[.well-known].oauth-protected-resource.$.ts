/**
 * GET /.well-known/oauth-protected-resource/<path>: RFC 9728 §3.1 path-inserted metadata of the MCP endpoints
 * (`/mcp`, `/mcp/mcp`, `/mcp/sse`); any other path is 404.
 */
import type { LoaderFunctionArgs } from "@remix-run/node";

export async function loader({ context, params }: LoaderFunctionArgs) {
  return context.services.oauth.protectedResourceMetadata(`/${params["*"] ?? ""}`);
}
