/**
 * Why an MCP client cannot connect, in plain language, with the fix: the one catalogue both doctors use — the CLI's
 * outside view (`mcp-oauth-server doctor <url>`) and the console's view of what the server recorded. Each cause names
 * the setting or the URL to change; none quotes a token, code or secret.
 */

export interface Cause {
  /** What went wrong, for the operator. */
  cause: string;
  /** What to change. */
  fix: string;
}

export const CAUSES = {
  unreachable: {
    cause: "The MCP URL could not be reached (DNS, TLS or connection failure).",
    fix: "Check the URL, and that the server or proxy in front of it is listening on that address.",
  },
  not_mcp_endpoint: {
    cause: "The URL answered 404: no MCP endpoint there.",
    fix: "Use the server's MCP endpoint: APP_URL followed by /mcp/mcp (or /mcp/sse for the deprecated SSE transport).",
  },
  not_protected: {
    cause: "The MCP endpoint answered without asking for a token.",
    fix: "Put the endpoint behind the bearer check; clients expect a 401 with a Bearer challenge to start OAuth.",
  },
  challenge_stripped: {
    cause: "The 401 has no WWW-Authenticate Bearer challenge, so clients cannot find the authorization server. A proxy in front of the server usually strips it.",
    fix: "Configure the proxy to pass the WWW-Authenticate header through unchanged (and, for browser clients, keep it in Access-Control-Expose-Headers).",
  },
  no_resource_metadata: {
    cause: "The Bearer challenge has no resource_metadata parameter (RFC 9728 §5.1); clients must guess the metadata URL.",
    fix: "Answer 401 with WWW-Authenticate: Bearer resource_metadata=\"<APP_URL>/.well-known/oauth-protected-resource/<path>\".",
  },
  metadata_unreachable: {
    cause: "A /.well-known metadata document could not be fetched. A proxy or CDN that only forwards the MCP path drops it.",
    fix: "Forward /.well-known/oauth-protected-resource/* and /.well-known/oauth-authorization-server to the server as well.",
  },
  resource_mismatch: {
    cause: "The protected resource metadata names a different resource than the URL the client called, so spec-following clients refuse it (RFC 9728 §3.3). The server's APP_URL does not match the public address.",
    fix: "Set APP_URL to the exact public base URL clients use (scheme, host, port and path prefix), then restart.",
  },
  issuer_mismatch: {
    cause: "The authorization server metadata's issuer differs from the URL it was fetched for (RFC 8414 §3.3), so clients refuse it.",
    fix: "Set APP_URL to the public base URL; the issuer is APP_URL.",
  },
  no_authorization_servers: {
    cause: "The protected resource metadata lists no authorization_servers.",
    fix: "List the authorization server's issuer in authorization_servers (RFC 9728 §2).",
  },
  no_pkce: {
    cause: "The authorization server does not advertise PKCE with S256; MCP clients refuse to continue (MCP Authorization, OAuth 2.1).",
    fix: "Support code_challenge_method S256 and list it in code_challenge_methods_supported.",
  },
  no_registration: {
    cause: "The authorization server offers neither Client ID Metadata Documents nor dynamic registration, so a new client cannot identify itself.",
    fix: "Advertise client_id_metadata_document_supported (preferred by MCP 2026-07-28) or a registration_endpoint, or pre-register the client and pass --client-id.",
  },
  missing_cors: {
    cause: "The document has no Access-Control-Allow-Origin for a cross-origin request, so browser-based clients cannot read it.",
    fix: "Serve the metadata documents with CORS for any origin (this server does unless ALLOWED_ORIGINS narrows it).",
  },
  origin_refused: {
    cause: "The MCP endpoint refused the request's Origin with 403 (the DNS-rebinding guard of MCP Streamable HTTP).",
    fix: "Add the browser client's origin to ALLOWED_ORIGINS (comma-separated origins), or * to allow any.",
  },
  rate_limited: {
    cause: "The server answered 429: a rate limit was hit. Clients behind one shared egress IP (an office, a hosted connector) share the per-IP budget.",
    fix: "Raise RATE_LIMIT_*_PER_IP, or list the shared egress range in TRUSTED_IP_RANGES; per-client limits still apply.",
  },
  wrong_audience: {
    cause: "The access token was issued for another resource (RFC 8707 audience), e.g. for /mcp/sse but used on /mcp/mcp.",
    fix: "Request the token with resource=<the MCP URL being called>, or with resource=APP_URL/mcp, which covers every MCP endpoint.",
  },
  invalid_token: {
    cause: "The access token is unknown, revoked or expired.",
    fix: "Get a new token (refresh, or sign in again); check that the client talks to the same server that issued it.",
  },
  insufficient_scope: {
    cause: "The token lacks a scope the call needs.",
    fix: "Ask for the scopes the 403's WWW-Authenticate names (together with those already held) and authorize again.",
  },
  redirect_uri_unregistered: {
    cause: "The authorization request's redirect_uri is not one the client registered, so the server stops at its own error page (RFC 6749 §4.1.2.1).",
    fix: "Register the exact redirect URI (loopback redirects may use any port) or use one of the registered ones.",
  },
  authorization_error: {
    cause: "The authorization endpoint answered with an error instead of a code.",
    fix: "Read the error code and description reported with this step.",
  },
  iss_mismatch: {
    cause: "The authorization response's iss does not match the issuer (RFC 9207), so clients reject it as a possible mix-up.",
    fix: "Make APP_URL the public issuer URL; do not rewrite the iss parameter in a proxy.",
  },
  token_request_failed: {
    cause: "The token endpoint refused the request.",
    fix: "Read the OAuth error reported with this step (invalid_client: wrong credentials or method; invalid_grant: code or refresh token used twice, expired, or for another client).",
  },
  token_cacheable: {
    cause: "The token response lacks Cache-Control: no-store (RFC 6749 §5.1); a proxy could cache tokens.",
    fix: "Send Cache-Control: no-store on every token response, and make sure the proxy does not replace it.",
  },
  refresh_replayed: {
    cause: "A refresh token was used after it had been rotated, so the whole grant was revoked (RFC 9700 §4.14.2). Two copies of one client (or two egress IPs retrying) shared a refresh token.",
    fix: "Make the client store the newest refresh token before retrying; set REFRESH_TOKEN_REUSE_GRACE_SECONDS for clients that retry a lost response.",
  },
  clock_skew: {
    cause: "A signed proof or assertion was outside the accepted time window: the client's clock is off.",
    fix: "Synchronise the client machine's clock (NTP).",
  },
  // ---- What the console's doctor reads from the stored rows (server/doctor/timeline.ts) ----
  discovery_not_reached: {
    cause: "The MCP endpoint answered 401 with its Bearer challenge, but this client never fetched the metadata documents afterwards. A proxy in front of the server most likely strips WWW-Authenticate or does not forward the /.well-known paths.",
    fix: "Configure the proxy to pass WWW-Authenticate through (and expose it to browsers) and to forward /.well-known/oauth-protected-resource/* and /.well-known/oauth-authorization-server; then run `mcp-oauth-server doctor <MCP URL>` through the proxy.",
  },
  unknown_client: {
    cause: "The client_id is not registered here, or its registration expired or was deleted: the client kept an old registration.",
    fix: "Make the client register again (or clear its stored registration); pre-registered clients need a client created under Clients.",
  },
  metadata_document_refused: {
    cause: "The client's Client ID Metadata Document (its client_id URL) could not be fetched or was refused, so the server does not know the client.",
    fix: "Serve the document at exactly the client_id URL over https, as JSON whose client_id equals that URL, with redirect_uris and token_endpoint_auth_method none; the reason is reported with this step.",
  },
  client_disabled: {
    cause: "The client is disabled, so its tokens are refused.",
    fix: "Enable the client on its page under Clients (or leave it disabled on purpose).",
  },
  registration_refused: {
    cause: "Dynamic client registration refused the client's metadata (RFC 7591 §3.2.2), usually a redirect URI that is neither https nor loopback.",
    fix: "Read the error of the registration step; register a redirect URI this server accepts, or create the client under Clients.",
  },
  consent_denied: {
    cause: "The person chose Deny on the consent page.",
    fix: "Nothing to change on the server; the person can connect again and choose Allow.",
  },
  stopped_at_sign_in: {
    cause: "The authorization request sent the person to sign in, and the flow stopped there: sign-in was not completed.",
    fix: "If sign-in fails rather than being abandoned, check the identity provider settings (GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET and its redirect URI APP_URL/api/auth/callback/google).",
  },
  stopped_at_consent: {
    cause: "The consent page was shown but no decision came back: the person left it open or closed it.",
    fix: "Nothing to change on the server unless the page fails to submit (a proxy that rewrites the Origin of form posts makes the server refuse them).",
  },
  code_not_redeemed: {
    cause: "The authorization code was sent back to the client's redirect URI, but the client never came to the token endpoint: its redirect listener did not receive it (a closed loopback port, a browser that could not hand the redirect to the app).",
    fix: "Check that the client is listening on its registered redirect URI while the person signs in, and that nothing between the browser and the app drops the redirect.",
  },
  code_replayed: {
    cause: "An authorization code was presented twice, so the grant issued with it was revoked (RFC 6749 §4.1.2).",
    fix: "Make the client exchange each code once; a client retrying a lost token response must start a new authorization.",
  },
  pkce_failed: {
    cause: "The code_verifier sent to the token endpoint does not match the code_challenge of the authorization request (RFC 7636 §4.6).",
    fix: "Make the client send the verifier of the same authorization request (two flows running at once in one client mix them up).",
  },
  mcp_error: {
    cause: "The MCP request was refused by the protocol layer.",
    fix: "Read the JSON-RPC error reported with this step (unsupported protocol version, missing headers, unknown method).",
  },
} as const satisfies Record<string, Cause>;

export type CauseId = keyof typeof CAUSES;
