/**
 * Whether an error means "the database cannot be reached right now" (refused, reset, partitioned, pool exhausted,
 * server restarting) rather than a bug or a bad request. One home for the rule: the OAuth response mapper
 * (oauth/respond.ts), the MCP bearer check and tools (mcp/bearer.ts, mcp/server.ts) and the console's tRPC layer
 * (trpc/init.ts, trpc/http.ts: pages and /api/trpc) all turn such an error into a 503 with `Retry-After`
 * (RFC 9110 §15.6.4, §10.2.3), logged as a warning, never a 500. A pool with no free connection within its
 * connect timeout counts too: under overload the server sheds load with 503s rather than queueing without end.
 */

/** Seconds a client is asked to wait before retrying while the database is unreachable. */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

/** What a caller is told (never the cause: no host, port or driver message goes on the wire). */
export const DATABASE_UNAVAILABLE_TEXT = "The service is temporarily unavailable; try again shortly";

/**
 * Connection-level database failures, looked for along the `cause` chain (Prisma's driver adapter wraps the pg
 * error): socket errors, PostgreSQL's class 08 (connection exception) and 57P01-03 (shutdown), Prisma's
 * reachability codes, pg's connect and query read timeouts.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current && typeof current === "object" && !seen.has(current)) {
    seen.add(current);
    const e = current as { code?: unknown; message?: unknown; cause?: unknown; originalCode?: unknown; kind?: unknown };
    const code = String(e.code ?? e.originalCode ?? "");
    if (/^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EHOSTUNREACH|EPIPE|57P0[1-3]|08\d{3}|P1001|P1002|P1017|P2024)$/.test(code)) return true;
    const message = typeof e.message === "string" ? e.message : "";
    if (
      /connect ECONNREFUSED|Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|Can't reach database|DatabaseNotReachable|ConnectionClosed|SocketTimeout|the database system is (shutting down|starting up)/i.test(
        message,
      )
    ) {
      return true;
    }
    if (e.kind === "DatabaseNotReachable" || e.kind === "ConnectionClosed" || e.kind === "SocketTimeout") return true;
    current = e.cause;
  }
  return false;
}

/** The error as a log line may carry it while the database is down: its kind and a short message, no stack. */
export function summariseError(error: unknown): { name?: string; code?: unknown; message?: string } {
  const e = error as { name?: string; code?: unknown; message?: string } | null;
  return { name: e?.name, code: e?.code, message: e?.message?.slice(0, 200) };
}
