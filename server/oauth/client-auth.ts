/**
 * Step `authenticateClient` of the token, revocation and introspection endpoints (RFC 6749 §2.3, §3.2.1;
 * RFC 7009 §2.1; RFC 7662 §2.1).
 *
 * - `client_secret_basic`: `Authorization: Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1).
 * - `client_secret_post`: `client_id` and `client_secret` in the body.
 * - `none` (public clients, OAuth 2.1 §2.4): `client_id` in the body (or Basic with an empty password); PKCE and
 *   refresh rotation are what bind their grants.
 * - `private_key_jwt` (RFC 7523 §2.2): `client_assertion_type` + `client_assertion` in the body, a JWT signed with a
 *   key the client registered (client-assertion.ts); `client_id` may be omitted (the assertion's `sub` names it).
 * A client must use the method it registered; using two methods at once is `invalid_request` (RFC 6749 §2.3).
 * Failures are `invalid_client` (401, and `WWW-Authenticate: Basic` when Basic was tried, RFC 6749 §5.2), recorded
 * as INVALID_CLIENT security events. Secrets are compared in constant time against their stored digest.
 */
import { OAuthError } from "./errors.ts";
import type { OAuthHttpRequest } from "./endpoint-http.ts";
import type { Params } from "./request-params.ts";
import type { ClientRecord, ClientRegistry } from "./clients.ts";
import { unknownClient } from "./clients.ts";
import { verifyClientSecret } from "./client-secrets.ts";
import { CLIENT_ASSERTION_TYPE, claimedClientId, type ClientAssertionVerifier } from "./client-assertion.ts";

export interface PresentedCredentials {
  clientId: string | undefined;
  secret: string | undefined;
  /** How the credentials arrived. */
  via: "basic" | "post" | "none" | "jwt";
  /** The `client_assertion` (via "jwt"). */
  assertion?: string;
}

export interface AuthenticatedClient {
  client: ClientRecord;
  /** The method actually used. */
  method: "client_secret_basic" | "client_secret_post" | "none" | "private_key_jwt";
  basic: boolean;
  /** The client's row came from the client cache: a refusal of the request is decided again on a fresh row. */
  fromCache: boolean;
}

/** Reads the credentials of a request without judging them. */
export function readClientCredentials(request: Pick<OAuthHttpRequest, "headers">, params: Params): PresentedCredentials {
  const header = request.headers.get("authorization");
  const bodySecret = params.get("client_secret");
  const bodyId = params.get("client_id");
  const assertionType = params.get("client_assertion_type");
  const assertion = params.get("client_assertion");
  if (assertionType !== undefined || assertion !== undefined) {
    if (header || bodySecret !== undefined) {
      throw new OAuthError("invalid_request", "use only one client authentication method (RFC 6749 §2.3)");
    }
    // RFC 7521 §4.2: both parameters, and the one assertion type this server knows (RFC 7523 §2.2).
    if (assertionType !== CLIENT_ASSERTION_TYPE) {
      throw new OAuthError("invalid_client", `client_assertion_type must be ${CLIENT_ASSERTION_TYPE}`, { reason: "unsupported_assertion_type" });
    }
    if (!assertion) throw new OAuthError("invalid_client", "client_assertion is required with client_assertion_type", { reason: "no_assertion" });
    const claimed = claimedClientId(assertion);
    if (!claimed) throw new OAuthError("invalid_client", "client_assertion is not a readable JWT", { reason: "assertion_malformed" });
    if (bodyId !== undefined && bodyId !== claimed) {
      throw new OAuthError("invalid_client", "client_id does not match the client_assertion's sub", { reason: "client_id_mismatch" });
    }
    return { clientId: claimed, secret: undefined, via: "jwt", assertion };
  }
  if (header) {
    // RFC 7235 §2.1: the scheme is case-insensitive and followed by one or more spaces; token68 is base64 here.
    const match = /^Basic +([A-Za-z0-9+/_-]+={0,2})$/i.exec(header.trim());
    if (!match) {
      // Still a client authentication attempt through the header: 401 with WWW-Authenticate (RFC 6749 §5.2).
      throw new OAuthError("invalid_client", "unsupported Authorization scheme; use HTTP Basic or client_id in the body", {
        basicAuth: true,
        reason: /^basic\b/i.test(header.trim()) ? "malformed_basic" : "unsupported_auth_scheme",
      });
    }
    const decoded = Buffer.from(match[1], "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 0) throw new OAuthError("invalid_client", "malformed HTTP Basic credentials", { basicAuth: true, reason: "malformed_basic" });
    let id: string;
    let secret: string;
    try {
      id = formDecode(decoded.slice(0, colon));
      secret = formDecode(decoded.slice(colon + 1));
    } catch {
      throw new OAuthError("invalid_client", "malformed HTTP Basic credentials", { basicAuth: true, reason: "malformed_basic" });
    }
    if (bodySecret !== undefined) {
      throw new OAuthError("invalid_request", "use only one client authentication method (RFC 6749 §2.3)");
    }
    if (bodyId !== undefined && bodyId !== id) {
      throw new OAuthError("invalid_client", "client_id does not match the HTTP Basic credentials", { basicAuth: true, reason: "client_id_mismatch" });
    }
    return { clientId: id || undefined, secret: secret || undefined, via: secret ? "basic" : "none" };
  }
  if (bodySecret !== undefined) return { clientId: bodyId, secret: bodySecret, via: "post" };
  return { clientId: bodyId, secret: undefined, via: "none" };
}

/** RFC 6749 §2.3.1: Basic credentials are application/x-www-form-urlencoded before base64. */
function formDecode(value: string): string {
  return decodeURIComponent(value.replace(/\+/g, " "));
}

/**
 * RFC 6749 §2.3 / §3.2.1: the client the request authenticates as. With `cached`, the client's row may come from the
 * client cache (client-cache.ts); anything refused on a cached row is decided again on a fresh one, so the cache can
 * only let through what a fresh read would have a moment earlier. `private_key_jwt` always reads afresh: an
 * assertion's `jti` is spent when it is checked, so it can be checked only once.
 */
export async function authenticateClient(
  clients: ClientRegistry,
  request: Pick<OAuthHttpRequest, "headers">,
  params: Params,
  assertions?: ClientAssertionVerifier,
  options: { cached?: boolean } = {},
): Promise<AuthenticatedClient> {
  const presented = readClientCredentials(request, params);
  const basic = request.headers.has("authorization");
  if (!presented.clientId) {
    throw new OAuthError("invalid_client", "client authentication is required (client_id)", { basicAuth: basic, reason: "no_client_id" });
  }
  const lookup = (cached: boolean) =>
    clients.lookup(presented.clientId!, cached).catch((error: unknown) => {
      if (error instanceof OAuthError) error.basicAuth = basic;
      throw error;
    });
  if (options.cached && presented.via !== "jwt") {
    const first = await lookup(true);
    try {
      return { ...(await checkCredentials(first.client, presented, basic, assertions)), fromCache: first.fromCache };
    } catch (error) {
      // Refused on a fresh row: that is the answer. On a cached row: decided again below, on a fresh one.
      if (!first.fromCache || !(error instanceof OAuthError)) throw error;
    }
  }
  const { client } = await lookup(false);
  return { ...(await checkCredentials(client, presented, basic, assertions)), fromCache: false };
}

async function checkCredentials(
  client: ClientRecord | null,
  presented: PresentedCredentials,
  basic: boolean,
  assertions: ClientAssertionVerifier | undefined,
): Promise<Omit<AuthenticatedClient, "fromCache">> {
  if (!client) throw unknownClient(basic);
  const registered = client.tokenEndpointAuthMethod;
  const failure = (description: string, reason: string) =>
    new OAuthError("invalid_client", description, {
      basicAuth: basic,
      reason,
      security: { type: "INVALID_CLIENT", severity: "medium", details: { reason } },
    });
  if (registered === "none") {
    if (presented.secret !== undefined) throw failure("this client is public and has no secret", "secret_for_public_client");
    if (presented.via === "jwt") throw failure("this client is public and has no keys", "assertion_for_public_client");
    return { client, method: "none", basic };
  }
  if (registered === "private_key_jwt") {
    if (presented.via !== "jwt") throw failure("this client must authenticate with private_key_jwt", "wrong_auth_method");
    if (!assertions) throw failure("private_key_jwt is not accepted at this endpoint", "assertion_not_accepted");
    await assertions.verify(client, presented.assertion!, basic);
    return { client, method: "private_key_jwt", basic };
  }
  if (presented.via === "jwt") throw failure(`this client must authenticate with ${registered}`, "wrong_auth_method");
  const expectedVia = registered === "client_secret_basic" ? "basic" : "post";
  if (presented.via === "none") throw failure(`client authentication is required (${registered})`, "no_secret");
  if (presented.via !== expectedVia) throw failure(`this client must authenticate with ${registered}`, "wrong_auth_method");
  if (!verifyClientSecret(presented.secret!, client.clientSecretHash)) throw failure("client authentication failed", "bad_secret");
  return { client, method: registered as AuthenticatedClient["method"], basic };
}
