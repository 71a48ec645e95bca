/**
 * The MCP resources this server protects, their identifiers (RFC 8707) and Protected Resource Metadata URLs
 * (RFC 9728 §3.1: the well-known suffix is inserted between the host and the resource's path).
 *
 * `APP_URL/mcp` names the whole MCP server: a token for it covers every endpoint. `APP_URL/mcp/mcp` (Streamable
 * HTTP) and `APP_URL/mcp/sse` (legacy HTTP+SSE, including its message endpoint) cover only themselves.
 */

export type McpEndpoint = "mcp" | "sse";

/** Scopes this resource server understands. */
export const McpScope = {
  /** Every ordinary tool (covers the two below). */
  tools: "mcp:tools",
  /** What every MCP session needs (list the tools) and the tools that only read. */
  toolsRead: "mcp:tools:read",
  /** Tools that change something. */
  toolsWrite: "mcp:tools:write",
  /** Admin tools; the user must also have the ADMIN role. */
  admin: "mcp:admin",
} as const;

/** What every request to an MCP endpoint needs (listing the tools): the narrowest tools scope. */
export const ENDPOINT_SCOPES: readonly string[] = [McpScope.toolsRead];

export interface ResourceIdentifiers {
  server: string;
  mcp: string;
  sse: string;
}

export function resourceIdentifiers(appUrl: string): ResourceIdentifiers {
  return { server: `${appUrl}/mcp`, mcp: `${appUrl}/mcp/mcp`, sse: `${appUrl}/mcp/sse` };
}

/** The resource identifier of an endpoint (what its PRM's `resource` says). */
export function resourceOf(appUrl: string, endpoint: McpEndpoint): string {
  return resourceIdentifiers(appUrl)[endpoint];
}

/** RFC 9728 §3.1 path-inserted metadata URL: `https://host/.well-known/oauth-protected-resource/<path>`. */
export function protectedResourceMetadataUrl(resource: string): string {
  const url = new URL(resource);
  const path = url.pathname === "/" ? "" : url.pathname.replace(/\/+$/, "");
  return `${url.origin}/.well-known/oauth-protected-resource${path}`;
}

function canonical(resource: string): string {
  return resource.replace(/\/+$/, "");
}

/**
 * Whether a token issued for `tokenResource` may be used at `endpoint` (RFC 8707 §2, audience restriction). `ids`
 * are `resourceIdentifiers(APP_URL)`, computed once by the caller (this runs on every MCP request).
 */
export function audienceCovers(tokenResource: string, ids: ResourceIdentifiers, endpoint: McpEndpoint): boolean {
  const presented = tokenResource.endsWith("/") ? canonical(tokenResource) : tokenResource;
  return presented === ids.server || presented === ids[endpoint];
}
