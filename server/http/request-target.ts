/** Reading the request target (RFC 9112 §3.2) the same way everywhere on the host. */
import type { IncomingMessage } from "node:http";

/** Express rewrites `req.url` under mount points; the target the client sent is in `originalUrl`. */
export function originalUrl(req: IncomingMessage): string {
  return (req as { originalUrl?: string }).originalUrl ?? req.url ?? "/";
}

/** The path of a request target (`/a/b?c` -> `/a/b`), as Express's `req.path` reads it. */
export function pathOf(url: string): string {
  if (url.startsWith("/")) {
    const query = url.indexOf("?");
    return query < 0 ? url : url.slice(0, query);
  }
  try {
    // Absolute form (RFC 9112 §3.2.2), as sent to proxies.
    return new URL(url).pathname;
  } catch {
    return "/";
  }
}

/** The query of a request target without its `?` (empty when there is none). */
export function queryOf(url: string): string {
  const query = url.indexOf("?");
  return query < 0 ? "" : url.slice(query + 1);
}
