/**
 * The one response mapper of the OAuth JSON endpoints (MCP SDK `bearerAuth`, workers-oauth-provider habit):
 * every answer carries `Cache-Control: no-store` (RFC 6749 §5.1, §5.2); an OAuthError becomes its RFC 6749 §5.2
 * body and status (401 + `WWW-Authenticate: Basic` when the client tried HTTP Basic); anything else becomes
 * `server_error` without a word about the cause (503 when the database is unreachable, so callers retry).
 */
import type { Logger } from "../logger.ts";
import { DATABASE_RETRY_AFTER_SECONDS, DATABASE_UNAVAILABLE_TEXT, isDatabaseUnavailable, summariseError } from "../db/availability.ts";
import { OAuthError } from "./errors.ts";

export { isDatabaseUnavailable };

export const NO_STORE = { "Cache-Control": "no-store", Pragma: "no-cache" } as const;

export function jsonResponse(body: unknown, init: { status?: number; headers?: Record<string, string>; cache?: string } = {}): Response {
  return new Response(JSON.stringify(body), {
    status: init.status ?? 200,
    headers: {
      "Content-Type": "application/json; charset=utf-8",
      ...(init.cache ? { "Cache-Control": init.cache } : NO_STORE),
      ...init.headers,
    },
  });
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
  const headers: Record<string, string> = { ...error.headers };
  if (error.status === 401 && error.error === "invalid_client" && error.basicAuth) {
    headers["WWW-Authenticate"] = `Basic realm="${realm}", charset="UTF-8"`;
  }
  if (error.error === "invalid_token") headers["WWW-Authenticate"] = `Bearer realm="${realm}", error="invalid_token"`;
  if (error.status === 503) headers["Retry-After"] = String(DATABASE_RETRY_AFTER_SECONDS);
  return jsonResponse(error.toJSON(), { status: error.status, headers });
}
