/**
 * Per-request facts the host gathers (server/http/request-context.ts makes them) and the handlers enrich: request
 * id, client IP, CSP nonce, and what the handler learned (route pattern, OAuth client, user, OAuth error code) for
 * the access log and analytics. A plain type here, below server/http and the handlers (mcp/, trpc/, reporting/),
 * so that the handlers need not import the host.
 */

export interface RequestMeta {
  requestId: string;
  startedAt: bigint;
  ip: string;
  userAgent: string | null;
  /**
   * The CSP nonce for this response's inline scripts. Made on first read (only pages read it), which also puts it
   * into the response's Content-Security-Policy.
   */
  readonly cspNonce: string;
  /** Route pattern (never the raw path), set by the host's router or the Remix route matcher. */
  route?: string;
  clientId?: string | null;
  userId?: string | null;
  oauthError?: string | null;
}
