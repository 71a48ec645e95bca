/**
 * Host names that are the local machine, in every spelling a browser or URL parser hands us: `localhost` and its
 * subdomains (RFC 6761 §6.3), `127.0.0.0/8`, `[::1]`. (Redirect URIs use the stricter RFC 8252 test in
 * server/oauth/redirect-uris.ts.)
 */
export function isLoopbackHostname(hostname: string): boolean {
  const host = hostname.toLowerCase();
  return host === "localhost" || host.endsWith(".localhost") || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host);
}
