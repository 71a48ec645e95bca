/**
 * Client metadata validation (pure): an RFC 7591 §2 registration request (or the original's `{ name, redirectUris }`
 * body) becomes the values stored in the Client table, or an `invalid_client_metadata` / `invalid_redirect_uri`
 * error (RFC 7591 §3.2.2). Sizes are bounded so a registration cannot bloat the database.
 *
 * Reused for Client ID Metadata Documents and by the admin console (`validateClientName`, `validateGrantTypes`).
 */
import { OAuthError } from "./errors.ts";
import { redirectUriKind, validateRedirectUris } from "./redirect-uris.ts";
import { clientScopeFromMetadata } from "./scopes.ts";
import { TOKEN_ENDPOINT_AUTH_METHODS, type TokenEndpointAuthMethod } from "./client-secrets.ts";

export const CLIENT_METADATA_LIMITS = { nameLength: 200, uriLength: 2000, bodyBytes: 16 * 1024, contacts: 10 } as const;

export const SUPPORTED_GRANT_TYPES = ["authorization_code", "refresh_token"] as const;
export type GrantType = (typeof SUPPORTED_GRANT_TYPES)[number];

export interface ClientMetadataInput {
  name: string;
  redirectUris: string[];
  grantTypes: GrantType[];
  responseTypes: ["code"];
  scope: string;
  tokenEndpointAuthMethod: TokenEndpointAuthMethod;
  applicationType: "web" | "native";
  clientUri: string | null;
  logoUri: string | null;
  /** RFC 9449 §5.2 `dpop_bound_access_tokens`: every token request must carry a DPoP proof. */
  dpopBoundAccessTokens: boolean;
  /** The registered metadata as accepted (no secret), for display and audit. */
  metadata: Record<string, unknown>;
  /** Registered with the original's `{ name, redirectUris }` body. */
  legacy: boolean;
}

const invalid = (description: string) => new OAuthError("invalid_client_metadata", description);

/**
 * Characters a self-chosen name could use to look like another on the consent page: controls, bidirectional
 * overrides and isolates (U+202A-202E, U+2066-2069: "Trusted\u202Eppa.live" renders reversed), zero-width and other
 * format characters, private-use and unpaired surrogates, line and paragraph separators (Unicode TR #36 §3).
 */
const UNSAFE_NAME_CHARACTERS = /[\p{Cc}\p{Cf}\p{Co}\p{Cs}\p{Zl}\p{Zp}]/u;

/** A display name: trimmed, 1–200 characters, no control, format (bidi, zero-width) or separator characters. */
export function validateClientName(value: unknown, fallback = "Unnamed client"): string {
  if (value === undefined || value === null || value === "") return fallback;
  if (typeof value !== "string") throw invalid("client_name must be a string");
  const name = value.trim();
  if (name.length === 0) return fallback;
  if (name.length > CLIENT_METADATA_LIMITS.nameLength) {
    throw invalid(`client_name must be at most ${CLIENT_METADATA_LIMITS.nameLength} characters`);
  }
  if (UNSAFE_NAME_CHARACTERS.test(name)) throw invalid("client_name must not contain control, formatting or invisible characters");
  return name;
}

/** RFC 7591 §2 `grant_types`: only authorization_code (required) and refresh_token. Default authorization_code. */
export function validateGrantTypes(value: unknown): GrantType[] {
  if (value === undefined || value === null) return ["authorization_code"];
  if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) throw invalid("grant_types must be an array of strings");
  const unsupported = value.filter((v) => !(SUPPORTED_GRANT_TYPES as readonly string[]).includes(v));
  if (unsupported.length > 0) {
    throw invalid(`grant_types may only contain ${SUPPORTED_GRANT_TYPES.join(", ")}`);
  }
  if (!value.includes("authorization_code")) throw invalid("grant_types must include authorization_code");
  return SUPPORTED_GRANT_TYPES.filter((g) => value.includes(g));
}

function validateResponseTypes(value: unknown): ["code"] {
  if (value === undefined || value === null) return ["code"];
  if (!Array.isArray(value) || value.length === 0 || value.some((v) => v !== "code")) {
    throw invalid('response_types must be ["code"] (OAuth 2.1: the authorization code flow only)');
  }
  return ["code"];
}

function validateAuthMethod(value: unknown, fallback: TokenEndpointAuthMethod): TokenEndpointAuthMethod {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== "string" || !(TOKEN_ENDPOINT_AUTH_METHODS as readonly string[]).includes(value)) {
    throw invalid(`token_endpoint_auth_method must be one of ${TOKEN_ENDPOINT_AUTH_METHODS.join(", ")}`);
  }
  return value as TokenEndpointAuthMethod;
}

/**
 * `application_type` (OpenID Connect Dynamic Client Registration 1.0 §2; MCP 2026-07-28 Client Registration
 * §"Application Type and Redirect URI Constraints": clients send `native` for loopback and custom-scheme redirects).
 * Absent, it is inferred: `native` when every redirect URI is a loopback or private-use one (RFC 8252), else `web`.
 * A `web` client cannot receive a private-use scheme redirect (only an app on the device can), so that pair is
 * refused; a loopback redirect stays allowed for `web` (locally hosted web apps).
 */
function validateApplicationType(value: unknown, redirectUris: readonly string[]): "web" | "native" {
  const nativeOnly = redirectUris.every((uri) => redirectUriKind(uri) !== "https");
  if (value === undefined || value === null) return nativeOnly ? "native" : "web";
  if (value !== "web" && value !== "native") throw invalid('application_type must be "web" or "native"');
  if (value === "web" && redirectUris.some((uri) => redirectUriKind(uri) === "private-use")) {
    throw new OAuthError("invalid_redirect_uri", 'a private-use scheme redirect URI needs application_type "native"');
  }
  return value;
}

function optionalHttpsUri(value: unknown, field: string): string | null {
  if (value === undefined || value === null || value === "") return null;
  if (typeof value !== "string" || value.length > CLIENT_METADATA_LIMITS.uriLength || !URL.canParse(value)) {
    throw invalid(`${field} must be a URL`);
  }
  const url = new URL(value);
  if (url.protocol !== "https:" && url.protocol !== "http:") throw invalid(`${field} must be an http or https URL`);
  return url.href;
}

function optionalString(value: unknown, field: string, max = 200): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string" || value.length > max) throw invalid(`${field} must be a string of at most ${max} characters`);
  return value;
}

/**
 * Validates a registration request body (RFC 7591 §2, §3.1). The original's body `{ "name", "redirectUris" }` is
 * accepted too (then the client is public and may use refresh tokens, as the original's clients did).
 */
export function validateClientMetadata(body: unknown, options: { defaultAuthMethod?: TokenEndpointAuthMethod } = {}): ClientMetadataInput {
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw invalid("the request body must be a JSON object");
  const input = body as Record<string, unknown>;
  const legacy = input.redirect_uris === undefined && (input.redirectUris !== undefined || input.name !== undefined);
  if (legacy) {
    const redirectUris = validateRedirectUris(input.redirectUris);
    const name = validateClientName(input.name);
    const scope = clientScopeFromMetadata(undefined);
    const applicationType = validateApplicationType(undefined, redirectUris);
    return {
      name,
      redirectUris,
      grantTypes: ["authorization_code", "refresh_token"],
      responseTypes: ["code"],
      scope,
      tokenEndpointAuthMethod: "none",
      applicationType,
      clientUri: null,
      logoUri: null,
      dpopBoundAccessTokens: false,
      metadata: {
        client_name: name,
        redirect_uris: redirectUris,
        grant_types: ["authorization_code", "refresh_token"],
        response_types: ["code"],
        token_endpoint_auth_method: "none",
        application_type: applicationType,
        scope,
      },
      legacy: true,
    };
  }
  const redirectUris = validateRedirectUris(input.redirect_uris);
  const name = validateClientName(input.client_name);
  const grantTypes = validateGrantTypes(input.grant_types);
  const responseTypes = validateResponseTypes(input.response_types);
  // RFC 7591 §2: the default token_endpoint_auth_method is client_secret_basic.
  const tokenEndpointAuthMethod = validateAuthMethod(input.token_endpoint_auth_method, options.defaultAuthMethod ?? "client_secret_basic");
  const applicationType = validateApplicationType(input.application_type, redirectUris);
  const scope = clientScopeFromMetadata(input.scope);
  const clientUri = optionalHttpsUri(input.client_uri, "client_uri");
  const logoUri = optionalHttpsUri(input.logo_uri, "logo_uri");
  const softwareId = optionalString(input.software_id, "software_id");
  const softwareVersion = optionalString(input.software_version, "software_version");
  const dpopBoundAccessTokens = optionalBoolean(input.dpop_bound_access_tokens, "dpop_bound_access_tokens");
  let contacts: string[] | undefined;
  if (input.contacts !== undefined && input.contacts !== null) {
    if (
      !Array.isArray(input.contacts) ||
      input.contacts.length > CLIENT_METADATA_LIMITS.contacts ||
      input.contacts.some((c) => typeof c !== "string" || c.length > 320)
    ) {
      throw invalid(`contacts must be an array of at most ${CLIENT_METADATA_LIMITS.contacts} strings`);
    }
    contacts = input.contacts as string[];
  }
  const metadata: Record<string, unknown> = {
    client_name: name,
    redirect_uris: redirectUris,
    grant_types: grantTypes,
    response_types: responseTypes,
    token_endpoint_auth_method: tokenEndpointAuthMethod,
    application_type: applicationType,
    scope,
    ...(clientUri ? { client_uri: clientUri } : {}),
    ...(logoUri ? { logo_uri: logoUri } : {}),
    ...(softwareId ? { software_id: softwareId } : {}),
    ...(softwareVersion ? { software_version: softwareVersion } : {}),
    ...(contacts ? { contacts } : {}),
    ...(dpopBoundAccessTokens ? { dpop_bound_access_tokens: true } : {}),
  };
  return {
    name,
    redirectUris,
    grantTypes,
    responseTypes,
    scope,
    tokenEndpointAuthMethod,
    applicationType,
    clientUri,
    logoUri,
    dpopBoundAccessTokens,
    metadata,
    legacy: false,
  };
}

/** An optional boolean member (absent or null = false). */
function optionalBoolean(value: unknown, name: string): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value !== "boolean") throw invalid(`${name} must be true or false`);
  return value;
}
