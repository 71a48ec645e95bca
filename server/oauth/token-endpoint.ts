/**
 * POST /api/oauth/token (RFC 6749 §3.2, §4.1.3, §6; OAuth 2.1 §3.2): a pipeline of named steps in the manner of
 * node-oidc-provider's `actions/token.js`:
 *
 *   readParams → authenticateClient → checkGrantType → tokenRequestKey (DPoP, RFC 9449 §5) → grantHandlers[grant_type]
 *
 * Grant handlers (grant-types/, one file per `grant_type`) live in a registry keyed by `grant_type`. Every step
 * throws one OAuthError; server.ts maps it.
 */
import type { EventOrigin } from "../events.ts";
import { authenticateClient } from "./client-auth.ts";
import type { ClientRecord } from "./clients.ts";
import type { OAuthDeps } from "./deps.ts";
import { tokenDpopHeaders, tokenRequestKey } from "./dpop-token.ts";
import type { OAuthHttpRequest } from "./endpoint-http.ts";
import { OAuthError } from "./errors.ts";
import { redeemAuthorizationCode } from "./grant-types/authorization-code.ts";
import { issueClientCredentialsToken } from "./grant-types/client-credentials.ts";
import { JWT_BEARER_GRANT_TYPE, redeemIdentityAssertion } from "./grant-types/jwt-bearer.ts";
import type { GrantHandler } from "./grant-types/handler.ts";
import { rotateRefreshToken } from "./grant-types/refresh-token.ts";
import { bodyParams } from "./request-params.ts";
import type { TokenResponse } from "./tokens.ts";

/** The grant registry. */
export const grantHandlers: Record<string, GrantHandler> = {
  authorization_code: redeemAuthorizationCode,
  refresh_token: rotateRefreshToken,
  client_credentials: issueClientCredentialsToken,
  [JWT_BEARER_GRANT_TYPE]: redeemIdentityAssertion,
};

/** checkGrantType: known to this server (unsupported_grant_type) and registered by the client (unauthorized_client). */
export function checkGrantType(grantType: string | undefined, client: ClientRecord): GrantHandler {
  if (!grantType) throw new OAuthError("invalid_request", "grant_type is required");
  const handler = Object.hasOwn(grantHandlers, grantType) ? grantHandlers[grantType] : undefined;
  if (!handler) throw unsupportedGrantType();
  if (!client.grantTypes.includes(grantType)) {
    throw new OAuthError("unauthorized_client", `this client is not registered for the ${grantType} grant`);
  }
  return handler;
}

/** The value is not echoed (RFC 6749 §5.2 descriptions never repeat input); the supported ones are named. */
function unsupportedGrantType(): OAuthError {
  return new OAuthError("unsupported_grant_type", `this grant_type is not supported; use ${Object.keys(grantHandlers).join(" or ")}`);
}

/**
 * Runs the pipeline. `origin` is filled in as the steps learn who is calling, `seen.grantType` as soon as the body is
 * read (so a failure's event carries it).
 */
export async function handleTokenRequest(
  deps: OAuthDeps,
  request: OAuthHttpRequest,
  origin: EventOrigin,
  seen: { grantType?: string } = {},
): Promise<{ response: TokenResponse; grantType: string; headers: Record<string, string> }> {
  const params = await bodyParams(request);
  const grantType = params.get("grant_type");
  // For the error event (`oauth_token_errors_total{grant_type}`): a supported grant type by name, anything else "other".
  if (grantType) seen.grantType = Object.hasOwn(grantHandlers, grantType) ? grantType : "other";
  // Request syntax first: a missing or unsupported grant type is reported as such before client authentication.
  if (!grantType) throw new OAuthError("invalid_request", "grant_type is required");
  if (!Object.hasOwn(grantHandlers, grantType)) throw unsupportedGrantType();
  const authenticated = await authenticateClient(deps.clients, request, params, deps.assertions, { cached: true });
  const { client } = authenticated;
  origin.clientId = client.id;
  try {
    const handler = checkGrantType(grantType, client);
    const dpopJkt = await tokenRequestKey(deps, request, client);
    const response = await handler(deps, { params, client, origin, now: new Date(), dpopJkt });
    return { response, grantType: grantType!, headers: tokenDpopHeaders(deps) };
  } catch (error) {
    // Refused (or failed: a row the client's deletion took) on a cached client row: when a fresh read refuses the
    // client itself (deleted, disabled, a new secret within the last moments), that is the answer (invalid_client),
    // as it would have been without the cache.
    if (authenticated.fromCache) await authenticateClient(deps.clients, request, params, deps.assertions);
    throw error;
  }
}
