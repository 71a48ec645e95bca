/**
 * The one builder of `WWW-Authenticate` challenges (MCP SDK `bearerAuth`, workers-oauth-provider habit), for the
 * OAuth endpoints (respond.ts), the MCP bearer check (server/mcp/bearer.ts) and the admin APIs guarded by tokens.
 *
 * - `Bearer` (RFC 6750 §3): auth-params `realm`, `error`, `error_description`, `scope` as quoted strings; a request
 *   without credentials gets no `error` (§3.1). Error codes are the error model's (errors.ts), and the description
 *   is its wire text (`wireDescription`: nothing that would break the quoted string).
 * - `resource_metadata` (RFC 9728 §5.1): where the protected resource's metadata is, so a client that met a 401
 *   can find the authorization server.
 * - `DPoP` (RFC 9449 §7.1): the same parameters plus `algs`, the proof algorithms the resource accepts.
 * - `Basic` (RFC 6749 §2.3.1, §5.2; RFC 7617 §2): client authentication with HTTP Basic failed.
 */
import { wireDescription, type OAuthErrorCode } from "./errors.ts";

export type ChallengeScheme = "Bearer" | "DPoP";

export interface ChallengeParams {
  realm?: string;
  /** RFC 6750 §3.1; omitted when the request carried no credentials. */
  error?: OAuthErrorCode;
  description?: string;
  /** DPoP only: the accepted proof algorithms (RFC 9449 §7.1). */
  algs?: readonly string[];
  /** The scopes needed, space-delimited (RFC 6750 §3, §3.1 `insufficient_scope`). */
  scope?: string;
  /** The protected resource's metadata URL (RFC 9728 §5.1). */
  resourceMetadata?: string;
}

/** A `Bearer` (or `DPoP`) challenge, parameters in a fixed order: realm, error, error_description, algs, scope, resource_metadata. */
export function bearerChallenge(params: ChallengeParams, scheme: ChallengeScheme = "Bearer"): string {
  const parts: string[] = [];
  if (params.realm !== undefined) parts.push(`realm="${quotable(params.realm)}"`);
  if (params.error) {
    parts.push(`error="${params.error}"`);
    if (params.description !== undefined) parts.push(`error_description="${wireDescription(params.description)}"`);
  }
  if (params.algs) parts.push(`algs="${params.algs.join(" ")}"`);
  if (params.scope !== undefined) parts.push(`scope="${quotable(params.scope)}"`);
  if (params.resourceMetadata !== undefined) parts.push(`resource_metadata="${quotable(params.resourceMetadata)}"`);
  return parts.length > 0 ? `${scheme} ${parts.join(", ")}` : scheme;
}

/** The `Basic` challenge of a failed HTTP Basic client authentication (RFC 6749 §5.2, RFC 7617 §2.1 `charset`). */
export function basicChallenge(realm: string): string {
  return `Basic realm="${quotable(realm)}", charset="UTF-8"`;
}

/** A value that cannot end its quoted-string early (RFC 9110 §5.6.4): no `"` or `\`. */
function quotable(value: string): string {
  return value.replace(/["\\]/g, "");
}
