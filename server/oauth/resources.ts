/**
 * Resource indicators (RFC 8707) (pure): which audiences this server issues tokens for, and how a requested
 * `resource` is canonicalised and resolved.
 *
 * Resources: `APP_URL/mcp` (the default; covers every MCP endpoint), `APP_URL/mcp/mcp` (Streamable HTTP) and
 * `APP_URL/mcp/sse` (legacy SSE). `APP_URL` itself, the `resource` of the root Protected Resource Metadata document
 * (RFC 9728 §3), is accepted as a synonym of the default so that a client which only read the root document works;
 * its tokens are bound to `APP_URL/mcp`. Anything else is `invalid_target` (RFC 8707 §2).
 */
import { OAuthError } from "./errors.ts";

/** Paths (below APP_URL) of the resources this server protects; the first is the default. */
export const RESOURCE_PATHS = ["/mcp", "/mcp/mcp", "/mcp/sse"] as const;

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
 * Whether a token bound to `audience` may be used at `endpoint` (both canonical resources of this server):
 * `APP_URL/mcp` covers every MCP endpoint; the others cover only themselves.
 */
export function audienceCovers(audience: string, endpoint: string, appUrl: string): boolean {
  if (audience === endpoint) return true;
  return audience === defaultResource(appUrl) && endpoint.startsWith(audience + "/");
}
