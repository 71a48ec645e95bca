/**
 * The one response mapper of the OAuth JSON endpoints (MCP SDK `bearerAuth`, workers-oauth-provider habit):
 * every answer carries `Cache-Control: no-store` (RFC 6749 §5.1, §5.2); an OAuthError becomes its RFC 6749 §5.2
 * body and status (401 + `WWW-Authenticate: Basic` when the client tried HTTP Basic); anything else becomes
 * `server_error` without a word about the cause (503 when the database is unreachable, so callers retry).
 */
import type { Logger } from "../logger.ts";
import { OAuthError } from "./errors.ts";

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
    log?.warn({ err: summarise(error), ...context }, "database unavailable during an OAuth request");
    return new OAuthError("server_error", "The service is temporarily unavailable; try again shortly", {
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
  const headers: Record<string, string> = {};
  if (error.status === 401 && error.error === "invalid_client" && error.basicAuth) {
    headers["WWW-Authenticate"] = `Basic realm="${realm}", charset="UTF-8"`;
  }
  if (error.error === "invalid_token") headers["WWW-Authenticate"] = `Bearer realm="${realm}", error="invalid_token"`;
  if (error.status === 503) headers["Retry-After"] = "5";
  return jsonResponse(error.toJSON(), { status: error.status, headers });
}

/** Connection-level database failures (refused, reset, pool timeout, server shutting down). */
export function isDatabaseUnavailable(error: unknown): boolean {
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current && typeof current === "object" && !seen.has(current)) {
    seen.add(current);
    const e = current as { code?: unknown; message?: unknown; cause?: unknown; originalCode?: unknown; kind?: unknown };
    const code = String(e.code ?? e.originalCode ?? "");
    if (/^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EHOSTUNREACH|EPIPE|57P0[1-3]|08\d{3}|P1001|P1002|P1017|P2024)$/.test(code)) return true;
    const message = typeof e.message === "string" ? e.message : "";
    if (/connect ECONNREFUSED|Connection terminated|timeout exceeded when trying to connect|Can't reach database|DatabaseNotReachable|ConnectionClosed|the database system is (shutting down|starting up)/i.test(message)) {
      return true;
    }
    if (e.kind === "DatabaseNotReachable" || e.kind === "ConnectionClosed") return true;
    current = e.cause;
  }
  return false;
}

function summarise(error: unknown): { name?: string; code?: unknown; message?: string } {
  const e = error as { name?: string; code?: unknown; message?: string };
  return { name: e?.name, code: e?.code, message: e?.message?.slice(0, 200) };
}
