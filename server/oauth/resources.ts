/**
 * Resource indicators (RFC 8707) (pure): which audiences this server issues tokens for, and how a requested
 * `resource` is canonicalised and resolved.
 *
 * Resources: `APP_URL/mcp` (the default; covers every MCP endpoint), `APP_URL/mcp/mcp` (Streamable HTTP) and
 * `APP_URL/mcp/sse` (legacy SSE). `APP_URL` itself, the `resource` of the root Protected Resource Metadata document
 * (RFC 9728 §3), is accepted as a synonym of the default so that a client which only read the root document works;
 * its tokens are bound to `APP_URL/mcp`. Anything else is `invalid_target` (RFC 8707 §2).
 *
 * The one resource table: the authorization server binds tokens to these resources, the MCP resource server
 * (server/mcp) checks a token's audience against them and names their metadata URLs in its challenges.
 */
import { OAuthError } from "./errors.ts";

/** Paths (below APP_URL) of the resources this server protects; the first is the default. */
export const RESOURCE_PATHS = ["/mcp", "/mcp/mcp", "/mcp/sse"] as const;

/** The MCP endpoints: Streamable HTTP (`APP_URL/mcp/mcp`) and legacy HTTP+SSE (`APP_URL/mcp/sse`). */
export type McpEndpoint = "mcp" | "sse";

/** The resource identifiers of the whole MCP server (`APP_URL/mcp`) and of each endpoint. */
export interface ResourceIdentifiers {
  server: string;
  mcp: string;
  sse: string;
}

export function resourceIdentifiers(appUrl: string): ResourceIdentifiers {
  const [server, mcp, sse] = RESOURCE_PATHS.map((path) => appUrl + path);
  return { server, mcp, sse };
}

/** The resource identifier of an endpoint (what its Protected Resource Metadata's `resource` says). */
export function resourceOf(appUrl: string, endpoint: McpEndpoint): string {
  return resourceIdentifiers(appUrl)[endpoint];
}

/** Where Protected Resource Metadata documents live (RFC 9728 §3). */
export const PROTECTED_RESOURCE_METADATA_PATH = "/.well-known/oauth-protected-resource";

/**
 * The metadata URL of a resource (RFC 9728 §3.1: the well-known suffix is inserted between the host and the
 * resource's path), for `resource_metadata` in a `WWW-Authenticate` challenge (RFC 9728 §5.1).
 */
export function protectedResourceMetadataUrl(resource: string): string {
  const url = new URL(resource);
  const path = url.pathname === "/" ? "" : url.pathname.replace(/\/+$/, "");
  return url.origin + PROTECTED_RESOURCE_METADATA_PATH + path;
}

export function defaultResource(appUrl: string): string {
  return appUrl + RESOURCE_PATHS[0];
}

/** Every resource a token may be bound to. */
export function serverResources(appUrl: string): string[] {
  return RESOURCE_PATHS.map((path) => appUrl + path);
}

/**
 * The canonical form of a resource URI for comparison (RFC 8707 §2, RFC 3986 §6.2.2-6.2.3): lower-case scheme and
 * host, default port dropped, percent-encoding and dot segments normalised, no trailing slash. Returns null for a
 * value that is not an absolute http(s) URI or that has a fragment (RFC 8707 §2: MUST NOT include one).
 */
export function canonicalResource(value: string): string | null {
  if (value.length === 0 || value.length > 2048 || value.includes("#")) return null;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return null;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return null;
  if (url.username || url.password || !url.hostname) return null;
  const path = url.pathname.replace(/\/+$/, "");
  return `${url.protocol}//${url.host}${path}${url.search}`;
}

/**
 * Resolves the `resource` parameter(s) of an authorization or token request to the one audience the tokens will be
 * bound to. Absent → the default (`APP_URL/mcp`). One audience per grant: several distinct resources are
 * `invalid_target`.
 */
export function resolveResource(requested: readonly string[] | undefined, appUrl: string): string {
  const values = (requested ?? []).filter((v) => v !== "");
  if (values.length === 0) return defaultResource(appUrl);
  const canonical = new Set<string>();
  for (const value of values) {
    const resource = canonicalResource(value);
    if (!resource) throw new OAuthError("invalid_target", "resource must be an absolute https or http URI without a fragment");
    canonical.add(resource);
  }
  if (canonical.size > 1) throw new OAuthError("invalid_target", "only one resource may be requested");
  const [resource] = canonical;
  const known = new Map<string, string>(serverResources(appUrl).map((r) => [canonicalResource(r)!, r]));
  known.set(canonicalResource(appUrl)!, defaultResource(appUrl));
  const match = known.get(resource);
  if (!match) throw new OAuthError("invalid_target", `unknown resource; this server issues tokens for ${serverResources(appUrl).join(", ")}`);
  return match;
}

/**
 * Whether a token bound to `audience` may be used at `resource`, one of this server's resources (RFC 8707 §2,
 * audience restriction): `APP_URL/mcp` covers every MCP endpoint; the others cover only themselves. `ids` are
 * `resourceIdentifiers(APP_URL)`, computed once by the caller (the MCP bearer check runs this on every request).
 */
export function audienceCovers(audience: string, resource: string, ids: ResourceIdentifiers): boolean {
  const presented = audience.endsWith("/") ? audience.replace(/\/+$/, "") : audience;
  return presented === resource || (presented === ids.server && resource.startsWith(ids.server + "/"));
}
