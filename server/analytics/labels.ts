/**
 * Label values for Prometheus metrics. Every label is bounded: a value comes from a fixed list, or from a guard that
 * admits a limited number of distinct values and folds the rest into `other`. Client ids, user ids, IPs and raw
 * paths are never labels (one series per caller would grow without bound and leak identities into dashboards).
 */

const HTTP_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** RFC 9110 methods this server answers; anything else (WebDAV, garbage) is `OTHER`. */
export function methodLabel(method: string): string {
  const upper = method.toUpperCase();
  return HTTP_METHODS.has(upper) ? upper : "OTHER";
}

/** A status code as a label; codes outside 100-599 (499 for a client that went away is inside) become `0`. */
export function statusLabel(status: number): string {
  return Number.isInteger(status) && status >= 100 && status <= 599 ? String(status) : "0";
}

/** Error codes of RFC 6749 §5.2, RFC 8707 §2 and RFC 6750 §3.1 plus the server-side ones. */
export const OAUTH_ERRORS = [
  "invalid_request",
  "invalid_client",
  "invalid_grant",
  "unauthorized_client",
  "unsupported_grant_type",
  "unsupported_response_type",
  "invalid_scope",
  "invalid_target",
  "access_denied",
  "invalid_token",
  "insufficient_scope",
  "invalid_redirect_uri",
  "invalid_client_metadata",
  "server_error",
  "temporarily_unavailable",
  "slow_down",
  "rate_limit_exceeded",
] as const;

const OAUTH_ERROR_SET = new Set<string>(OAUTH_ERRORS);

export function oauthErrorLabel(error: string | null | undefined): string {
  if (!error) return "none";
  return OAUTH_ERROR_SET.has(error) ? error : "other";
}

const GRANT_TYPES = new Set([
  "authorization_code",
  "refresh_token",
  "client_credentials",
  "urn:ietf:params:oauth:grant-type:device_code",
  "urn:ietf:params:oauth:grant-type:token-exchange",
  "urn:ietf:params:oauth:grant-type:jwt-bearer",
]);

export function grantTypeLabel(grantType: string | null | undefined): string {
  if (!grantType) return "none";
  return GRANT_TYPES.has(grantType) ? grantType : "other";
}

/** JSON-RPC methods of the MCP specification (2025-11-25); a client inventing methods folds into `other`. */
const MCP_METHODS = new Set([
  "initialize",
  "ping",
  "tools/list",
  "tools/call",
  "resources/list",
  "resources/read",
  "resources/templates/list",
  "resources/subscribe",
  "resources/unsubscribe",
  "prompts/list",
  "prompts/get",
  "completion/complete",
  "logging/setLevel",
  "notifications/initialized",
  "notifications/cancelled",
  "notifications/progress",
  "notifications/roots/list_changed",
  "batch",
  "stream",
  "session/delete",
  "none",
]);

export function mcpMethodLabel(method: string | null | undefined): string {
  if (!method) return "none";
  return MCP_METHODS.has(method) ? method : "other";
}

/**
 * Admits at most `limit` distinct values matching a safe shape; later newcomers and odd shapes become `other`.
 * Used where the set is the server's own (tool names, rate-limited endpoints, route patterns) but a caller could
 * still push arbitrary strings through (a `tools/call` for a tool that does not exist).
 */
export class LabelGuard {
  private readonly seen = new Set<string>();

  constructor(
    private readonly limit: number,
    private readonly shape: RegExp = /^[A-Za-z0-9_./:\-[\]*$]{1,100}$/,
  ) {}

  label(value: string | null | undefined): string {
    if (!value) return "none";
    if (this.seen.has(value)) return value;
    if (this.seen.size >= this.limit || !this.shape.test(value)) return "other";
    this.seen.add(value);
    return value;
  }
}
