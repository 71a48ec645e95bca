/**
 * The one response mapper of the OAuth JSON endpoints (MCP SDK `bearerAuth`, workers-oauth-provider habit):
 * every answer carries `Cache-Control: no-store` (RFC 6749 §5.1, §5.2); an OAuthError becomes its RFC 6749 §5.2
 * body and status (401 + `WWW-Authenticate: Basic` when the client tried HTTP Basic); anything else becomes
 * `server_error` without a word about the cause (503 when the database is unreachable, so callers retry).
 */
import type { Logger } from "../logger.ts";
import { DATABASE_RETRY_AFTER_SECONDS, DATABASE_UNAVAILABLE_TEXT, isDatabaseUnavailable, summariseError } from "../db/availability.ts";
import type { OAuthReply } from "./endpoint-http.ts";
import { toResponse } from "./endpoint-http.ts";
import { basicChallenge, bearerChallenge } from "./challenges.ts";
import { OAuthError } from "./errors.ts";

export { isDatabaseUnavailable };

export const NO_STORE = { "Cache-Control": "no-store", Pragma: "no-cache" } as const;

type JsonInit = { status?: number; headers?: Record<string, string>; cache?: string };

/** A JSON answer as plain data (the host's fast path writes it as it is, endpoint-http.ts). */
export function jsonReply(body: unknown, init: JsonInit = {}): OAuthReply {
  return {
    status: init.status ?? 200,
    headers: {
      "Content-Type": "application/json; charset=utf-8",
      ...(init.cache ? { "Cache-Control": init.cache } : NO_STORE),
      ...init.headers,
    },
    body: JSON.stringify(body),
  };
}

export function jsonResponse(body: unknown, init: JsonInit = {}): Response {
  return toResponse(jsonReply(body, init));
}

/** Turns anything thrown by an endpoint into an OAuthError (unknown errors become server_error, logged here). */
export function toOAuthError(error: unknown, log?: Logger, context: Record<string, unknown> = {}): OAuthError {
  if (error instanceof OAuthError) return error;
  if (isDatabaseUnavailable(error)) {
    log?.warn({ err: summariseError(error), ...context }, "database unavailable during an OAuth request");
    return new OAuthError("server_error", DATABASE_UNAVAILABLE_TEXT, {
      status: 503,
      reason: "database_unavailable",
      cause: error,
    });
  }
  log?.error({ err: error, ...context }, "unexpected error in an OAuth endpoint");
  return new OAuthError("server_error", "Internal server error", { reason: "unexpected_error", cause: error });
}

/** The RFC 6749 §5.2 error response. */
export function errorResponse(error: OAuthError, realm: string): Response {
  return toResponse(errorReply(error, realm));
}

/** The RFC 6749 §5.2 error answer as plain data. */
export function errorReply(error: OAuthError, realm: string): OAuthReply {
  const headers: Record<string, string> = { ...error.headers };
  if (error.status === 401 && error.error === "invalid_client" && error.basicAuth) {
    headers["WWW-Authenticate"] = basicChallenge(realm);
  }
  // RFC 6750 §3.1: introspection refused an administrator's access token.
  if (error.error === "invalid_token") headers["WWW-Authenticate"] = bearerChallenge({ realm, error: "invalid_token" });
  if (error.status === 503) headers["Retry-After"] = String(DATABASE_RETRY_AFTER_SECONDS);
  return jsonReply(error.toJSON(), { status: error.status, headers });
}
