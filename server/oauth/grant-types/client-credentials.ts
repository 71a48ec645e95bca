/**
 * The `client_credentials` grant (OAuth 2.1 §4.2, RFC 6749 §4.4; MCP OAuth Client Credentials extension): a
 * confidential machine client, created by an administrator, gets a token for itself — no person is involved.
 *
 * Steps: checkConfidential → decideScope → resolveAudience → issue (standalone-grant.ts).
 * - Only confidential clients (`client_secret_basic` or `private_key_jwt`, already authenticated by the endpoint);
 *   a public client is `unauthorized_client` (RFC 6749 §4.4: "MUST only be used by confidential clients").
 * - Scope: what was asked (default `mcp:tools`), never beyond the scope the client was registered with
 *   (`invalid_scope`). `mcp:admin` therefore reaches a machine client only when an administrator registered it with
 *   that scope, and only when it asks for it.
 * - Audience: the `resource` parameter (RFC 8707 §2.2; absent → the default MCP resource).
 * - No refresh token (OAuth 2.1 §4.2.3: SHOULD NOT); the client simply asks again.
 * - With a DPoP proof (RFC 9449 §5) the access token is bound to the client's key, as for every grant.
 */
import { OAuthError } from "../errors.ts";
import { resolveResource } from "../resources.ts";
import { decideScopes, formatScope } from "../scopes.ts";
import { issueStandaloneGrant } from "../standalone-grant.ts";
import type { GrantHandler } from "./handler.ts";

export const issueClientCredentialsToken: GrantHandler = async (deps, { params, client, origin, now, dpopJkt }) => {
  // checkConfidential
  if (client.tokenEndpointAuthMethod === "none") {
    throw new OAuthError("unauthorized_client", "client_credentials is only for confidential clients (RFC 6749 §4.4)", { reason: "public_client_credentials" });
  }
  // decideScope: an administrator chose the client's scope, so it may hold mcp:admin if registered with it.
  const { scopes } = decideScopes({ requested: params.get("scope"), clientScope: client.scope, isAdmin: true });
  // resolveAudience
  const resource = resolveResource(params.getAll("resource"), deps.env.APP_URL);
  const { response } = await issueStandaloneGrant(
    deps,
    { clientDbId: client.id, userId: null, identityProviderId: null, scope: formatScope(scopes), resource, dpopJkt },
    now,
  );
  deps.emit.tokenIssued(origin, "client_credentials", false);
  return response;
};
