/**
 * Machine clients, created by an administrator (console or `mcp-oauth-server clients create`), never by open
 * registration (MCP client credentials extension: "pre-registered client credentials … established out-of-band").
 *
 * - Grant types: `client_credentials` (OAuth 2.1 §4.2) and/or the ID-JAG `jwt-bearer` grant (enterprise-managed
 *   authorization); no redirect URIs, no authorization code.
 * - Authentication: `client_secret_basic` (a secret generated here, returned once, stored as a SHA-256 digest) or
 *   `private_key_jwt` (RFC 7523 §2.2) with exactly one of a JWK Set or the https URL of one (RFC 7591 §2 `jwks`,
 *   `jwks_uri`; public keys only).
 * - Scope: what the administrator names (default `mcp:tools`); `mcp:admin` only when named here explicitly.
 */
import { DomainError } from "../domain-error.ts";
import type { Prisma } from "../db/client.ts";
import type { OAuthStoreDeps } from "./deps.ts";
import type { AdminActor } from "../audit.ts";
import { storeManualClient, validateClientScopes, type ClientDetails } from "./client-admin.ts";
import { validateClientName } from "./client-metadata.ts";
import { OAuthError } from "./errors.ts";
import { JWT_BEARER_GRANT_TYPE } from "./grant-types/jwt-bearer.ts";
import { KeySetError, parseJwks } from "./key-sets.ts";
import { checkFetchUrl, GuardedFetchError } from "./ssrf-guard.ts";
import { DEFAULT_SCOPES } from "./scopes.ts";

export const MACHINE_GRANT_TYPES = ["client_credentials", JWT_BEARER_GRANT_TYPE] as const;
export const MACHINE_AUTH_METHODS = ["client_secret_basic", "private_key_jwt"] as const;
export type MachineAuthMethod = (typeof MACHINE_AUTH_METHODS)[number];

export interface CreateMachineClientInput {
  name: string;
  /** `client_credentials` and/or `urn:ietf:params:oauth:grant-type:jwt-bearer` (short form `jwt-bearer` accepted). */
  grantTypes: string[];
  authMethod?: MachineAuthMethod;
  jwksUri?: string | null;
  /** A JWK Set (parsed JSON). */
  jwks?: unknown;
  scopes?: string[];
}

/** Accepts the short name `jwt-bearer` for the ID-JAG grant type. */
export function machineGrantType(value: string): string {
  return value === "jwt-bearer" ? JWT_BEARER_GRANT_TYPE : value;
}

export async function createMachineClient(
  deps: OAuthStoreDeps,
  input: CreateMachineClientInput,
  by: AdminActor,
): Promise<{ client: ClientDetails; clientSecret: string | null }> {
  const name = validateClientName(input.name, "");
  if (!name) throw new DomainError("invalid", "a name is required");
  const grantTypes = [...new Set(input.grantTypes.map(machineGrantType))];
  if (grantTypes.length === 0) throw new DomainError("invalid", `choose a grant type: ${MACHINE_GRANT_TYPES.join(", ")}`);
  const unknown = grantTypes.filter((g) => !(MACHINE_GRANT_TYPES as readonly string[]).includes(g));
  if (unknown.length > 0) throw new DomainError("invalid", `unsupported grant type ${unknown.join(", ")}; use ${MACHINE_GRANT_TYPES.join(" or ")}`);
  const authMethod = input.authMethod ?? "client_secret_basic";
  if (!(MACHINE_AUTH_METHODS as readonly string[]).includes(authMethod)) {
    throw new DomainError("invalid", `unsupported authentication method; use ${MACHINE_AUTH_METHODS.join(" or ")}`);
  }
  const hasUri = Boolean(input.jwksUri);
  const hasSet = input.jwks !== undefined && input.jwks !== null;
  let jwksUri: string | null = null;
  let jwks: Prisma.InputJsonValue | undefined;
  if (authMethod === "private_key_jwt") {
    if (hasUri === hasSet) throw new DomainError("invalid", "private_key_jwt needs exactly one of a JWKS URI and a JWK Set");
    if (hasUri) {
      try {
        jwksUri = checkFetchUrl(input.jwksUri!.trim()).href;
      } catch (error) {
        throw new DomainError("invalid", `jwks_uri ${error instanceof GuardedFetchError ? error.message : "is not a valid https URL"}`);
      }
    } else {
      try {
        jwks = parseJwks(input.jwks) as unknown as Prisma.InputJsonValue;
      } catch (error) {
        throw new DomainError("invalid", error instanceof KeySetError ? error.message : "the JWK Set is invalid");
      }
    }
  } else if (hasUri || hasSet) {
    throw new DomainError("invalid", "a JWK Set or JWKS URI goes with private_key_jwt, not with a client secret");
  }
  let scope: string;
  try {
    scope = validateClientScopes(input.scopes && input.scopes.length > 0 ? input.scopes : DEFAULT_SCOPES);
  } catch (error) {
    throw new DomainError("invalid", error instanceof OAuthError ? error.description : "invalid scope");
  }
  return storeManualClient(
    deps,
    by,
    {
      name,
      redirectUris: [],
      grantTypes,
      responseTypes: [],
      scope,
      tokenEndpointAuthMethod: authMethod,
      applicationType: "service",
      jwksUri,
      jwks,
      metadata: {
        client_name: name,
        grant_types: grantTypes,
        token_endpoint_auth_method: authMethod,
        scope,
        ...(jwksUri ? { jwks_uri: jwksUri } : {}),
        ...(jwks ? { jwks } : {}),
      },
    },
    { type: "machine", authMethod },
  );
}

/** Whether a client is a machine client (its grant types are all admin-only ones). */
export function isMachineClient(client: { grantTypes: string[] }): boolean {
  return client.grantTypes.length > 0 && client.grantTypes.every((g) => (MACHINE_GRANT_TYPES as readonly string[]).includes(g));
}
