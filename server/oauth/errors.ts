/**
 * The one OAuth error type (node-oidc-provider `error_detail`, workers-oauth-provider `createErrorResponse`).
 *
 * `error` and `description` go on the wire (RFC 6749 §5.2, RFC 7591 §3.2.2, RFC 8707 §2, RFC 6750 §3.1); `reason` is
 * the internal cause for logs, metrics and analytics and never leaves the server. Every step of every endpoint throws
 * one of these; `respond.ts` turns it (or anything else) into the HTTP response.
 */
import type { SecurityEventType, Severity } from "../events.ts";

/** Error codes this server puts on the wire. */
export type OAuthErrorCode =
  // RFC 6749 §4.1.2.1, §5.2
  | "invalid_request"
  | "invalid_client"
  | "invalid_grant"
  | "unauthorized_client"
  | "unsupported_grant_type"
  | "unsupported_response_type"
  | "invalid_scope"
  | "access_denied"
  | "server_error"
  | "temporarily_unavailable"
  // RFC 8707 §2
  | "invalid_target"
  // RFC 7009 §2.2.1
  | "unsupported_token_type"
  // RFC 7591 §3.2.2
  | "invalid_redirect_uri"
  | "invalid_client_metadata"
  // RFC 6750 §3.1
  | "invalid_token"
  | "insufficient_scope"
  // RFC 9449 §5 (token endpoint), §8 (server nonce)
  | "invalid_dpop_proof"
  | "use_dpop_nonce";

/** The HTTP status each code gets unless a step says otherwise. */
const defaultStatus: Record<OAuthErrorCode, number> = {
  invalid_request: 400,
  invalid_client: 401,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  unsupported_response_type: 400,
  invalid_scope: 400,
  access_denied: 403,
  server_error: 500,
  temporarily_unavailable: 503,
  invalid_target: 400,
  unsupported_token_type: 400,
  invalid_redirect_uri: 400,
  invalid_client_metadata: 400,
  invalid_token: 401,
  insufficient_scope: 403,
  invalid_dpop_proof: 400,
  use_dpop_nonce: 400,
};

/** A security event to record along with the error (emitted by the endpoint, see events.ts). */
export interface SecurityNote {
  type: SecurityEventType;
  severity: Severity;
  details?: Record<string, unknown>;
}

export interface OAuthErrorOptions {
  /** Internal cause: logs and analytics only. */
  reason?: string;
  status?: number;
  /** The client authenticated (or tried to) with HTTP Basic: a 401 then carries `WWW-Authenticate: Basic` (RFC 6749 §5.2). */
  basicAuth?: boolean;
  security?: SecurityNote;
  /** Extra response headers (RFC 9449 §8: `DPoP-Nonce` with `use_dpop_nonce`). */
  headers?: Record<string, string>;
  cause?: unknown;
}

export class OAuthError extends Error {
  readonly error: OAuthErrorCode;
  readonly description: string;
  readonly reason: string;
  readonly status: number;
  basicAuth: boolean;
  readonly security?: SecurityNote;
  readonly headers?: Record<string, string>;

  constructor(error: OAuthErrorCode, description: string, options: OAuthErrorOptions = {}) {
    const wire = wireDescription(description);
    super(`${error}: ${wire}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "OAuthError";
    this.error = error;
    this.description = wire;
    this.reason = options.reason ?? description;
    this.status = options.status ?? defaultStatus[error];
    this.basicAuth = options.basicAuth ?? false;
    this.security = options.security;
    this.headers = options.headers;
  }

  /** The RFC 6749 §5.2 body. */
  toJSON(): { error: OAuthErrorCode; error_description: string } {
    return { error: this.error, error_description: this.description };
  }
}

/**
 * RFC 6749 §5.2 (and §4.1.2.1, RFC 7591 §3.2.2): `error_description` is ASCII limited to %x20-21 / %x23-5B / %x5D-7E.
 * Descriptions are written by us, but some cite spec sections with `§` and a few quote values: this keeps whatever
 * reaches the wire inside the allowed set (`§` becomes "section", anything else outside it `?`) and short.
 */
export function wireDescription(text: string): string {
  return text.replace(/§ ?/g, "section ").replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, "?").slice(0, 300);
}

export function isOAuthError(value: unknown): value is OAuthError {
  return value instanceof OAuthError;
}

/** Shorthands for the most common errors (the description is what the client reads). */
export const oauthError = {
  invalidRequest: (description: string, options?: OAuthErrorOptions) => new OAuthError("invalid_request", description, options),
  invalidClient: (description: string, options?: OAuthErrorOptions) => new OAuthError("invalid_client", description, options),
  invalidGrant: (description: string, options?: OAuthErrorOptions) => new OAuthError("invalid_grant", description, options),
  invalidScope: (description: string, options?: OAuthErrorOptions) => new OAuthError("invalid_scope", description, options),
  invalidTarget: (description: string, options?: OAuthErrorOptions) => new OAuthError("invalid_target", description, options),
  unauthorizedClient: (description: string, options?: OAuthErrorOptions) =>
    new OAuthError("unauthorized_client", description, options),
  invalidClientMetadata: (description: string, options?: OAuthErrorOptions) =>
    new OAuthError("invalid_client_metadata", description, options),
  invalidRedirectUri: (description: string, options?: OAuthErrorOptions) =>
    new OAuthError("invalid_redirect_uri", description, options),
};
