/**
 * Discovery documents (pure):
 * - Authorization Server Metadata (RFC 8414 §2), also served at the OpenID Connect discovery path for clients that
 *   only look there (the MCP 2025-11-25 authorization spec has clients try both).
 * - Protected Resource Metadata (RFC 9728 §2) of every MCP endpoint, at the root and path-inserted
 *   (`/.well-known/oauth-protected-resource/mcp/mcp`); each document's `resource` is exactly the URL it describes
 *   (RFC 9728 §3.3).
 */
import { ASSERTION_SIGNING_ALGS } from "./client-assertion.ts";
import { TOKEN_ENDPOINT_AUTH_METHODS } from "./client-secrets.ts";
import { SUPPORTED_GRANT_TYPES } from "./client-metadata.ts";
import { ID_JAG_PROFILE, JWT_BEARER_GRANT_TYPE } from "./grant-types/jwt-bearer.ts";
import { DPOP_SIGNING_ALGS } from "./dpop.ts";
import { PROTECTED_RESOURCE_METADATA_PATH, RESOURCE_PATHS } from "./resources.ts";
import { SUPPORTED_SCOPES } from "./scopes.ts";

export const OAUTH_PATHS = {
  authorization: "/oauth/authorize",
  token: "/api/oauth/token",
  registration: "/api/oauth/register",
  revocation: "/api/oauth/revoke",
  introspection: "/api/oauth/introspect",
  authorizationServerMetadata: "/.well-known/oauth-authorization-server",
  openidConfiguration: "/.well-known/openid-configuration",
  protectedResourceMetadata: PROTECTED_RESOURCE_METADATA_PATH,
} as const;

/** Metadata documents may be cached briefly by clients and proxies. */
export const METADATA_CACHE_CONTROL = "public, max-age=300";

/**
 * Grant types an administrator can give a client (never open registration): `client_credentials` (MCP client
 * credentials extension) and the ID-JAG `jwt-bearer` grant (MCP enterprise-managed authorization).
 */
export const ADMIN_ONLY_GRANT_TYPES = ["client_credentials", JWT_BEARER_GRANT_TYPE] as const;
/** Client authentication methods: the registrable ones plus `private_key_jwt` (RFC 7523 §2.2, admin-created clients). */
export const CLIENT_AUTH_METHODS = [...TOKEN_ENDPOINT_AUTH_METHODS, "private_key_jwt"] as const;

export function authorizationServerMetadata(appUrl: string) {
  return {
    issuer: appUrl,
    authorization_endpoint: appUrl + OAUTH_PATHS.authorization,
    token_endpoint: appUrl + OAUTH_PATHS.token,
    registration_endpoint: appUrl + OAUTH_PATHS.registration,
    revocation_endpoint: appUrl + OAUTH_PATHS.revocation,
    introspection_endpoint: appUrl + OAUTH_PATHS.introspection,
    scopes_supported: [...SUPPORTED_SCOPES],
    response_types_supported: ["code"],
    response_modes_supported: ["query"],
    grant_types_supported: [...SUPPORTED_GRANT_TYPES, ...ADMIN_ONLY_GRANT_TYPES],
    code_challenge_methods_supported: ["S256"],
    token_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
    // RFC 8414 §2: required with private_key_jwt (MCP client credentials extension, "Server Metadata Requirements").
    token_endpoint_auth_signing_alg_values_supported: [...ASSERTION_SIGNING_ALGS],
    revocation_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
    revocation_endpoint_auth_signing_alg_values_supported: [...ASSERTION_SIGNING_ALGS],
    // Admins may also introspect with an access token carrying mcp:admin (Authorization: Bearer).
    introspection_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post", "private_key_jwt"],
    introspection_endpoint_auth_signing_alg_values_supported: [...ASSERTION_SIGNING_ALGS],
    // draft-ietf-oauth-identity-assertion-authz-grant (MCP enterprise-managed authorization): ID-JAGs are accepted.
    authorization_grant_profiles_supported: [ID_JAG_PROFILE],
    // RFC 9207
    authorization_response_iss_parameter_supported: true,
    // draft-ietf-oauth-client-id-metadata-document
    client_id_metadata_document_supported: true,
    // RFC 9449 §5.1: the token endpoint binds tokens to DPoP proofs signed with these algorithms.
    dpop_signing_alg_values_supported: [...DPOP_SIGNING_ALGS],
    service_documentation: appUrl + "/",
  };
}

export type AuthorizationServerMetadata = ReturnType<typeof authorizationServerMetadata>;

/**
 * The Protected Resource Metadata of the resource whose path (below APP_URL) is `resourcePath` ("" for the root
 * document, "/mcp", "/mcp/mcp", "/mcp/sse"), or null for a path that is not one of this server's resources.
 */
export function protectedResourceMetadata(appUrl: string, resourcePath: string, options: { dpopRequired?: boolean } = {}) {
  if (resourcePath !== "" && !(RESOURCE_PATHS as readonly string[]).includes(resourcePath)) return null;
  return {
    resource: appUrl + resourcePath,
    authorization_servers: [appUrl],
    scopes_supported: [...SUPPORTED_SCOPES],
    bearer_methods_supported: ["header"],
    resource_name: "MCP OAuth Server",
    resource_documentation: appUrl + "/",
    // RFC 9728 §2 (RFC 9449): DPoP proofs this resource verifies, and whether it refuses tokens not bound to a key.
    dpop_signing_alg_values_supported: [...DPOP_SIGNING_ALGS],
    ...(options.dpopRequired ? { dpop_bound_access_tokens_required: true } : {}),
  };
}
