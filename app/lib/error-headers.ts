/**
 * Headers a page keeps from the error it shows: a loader that threw "temporarily unavailable" (503, the database
 * unreachable; server/trpc/http.ts) says when to come back (RFC 9110 §10.2.3), and such a page is never stored.
 * For the `headers` export of every route with an ErrorBoundary.
 */
export function errorPageHeaders(errorHeaders: Headers | undefined): Record<string, string> {
  const retryAfter = errorHeaders?.get("Retry-After");
  return retryAfter ? { "Retry-After": retryAfter, "Cache-Control": "no-store" } : {};
}
