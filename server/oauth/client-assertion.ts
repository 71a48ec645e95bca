/**
 * `private_key_jwt` client authentication (RFC 7523 §2.2 and §3, RFC 7521 §4.2, OpenID Connect Core §9): the client
 * sends `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer` and a `client_assertion`, a
 * JWT it signed with a key whose public half it registered (`jwks` or `jwks_uri`, key-sets.ts).
 *
 * Checks, each an `invalid_client` (RFC 7521 §4.2.1) with an INVALID_CLIENT security event:
 * - the signature, by a registered key, with one of ASSERTION_SIGNING_ALGS (never `none` or a symmetric algorithm);
 * - `iss` = `sub` = the client_id (RFC 7523 §3 items 1-2);
 * - `aud` = this server's issuer identifier, or its token endpoint URL (RFC 7523 §3 item 3; draft-ietf-oauth-rfc7523bis
 *   prefers the issuer);
 * - `exp` present and not passed, and no more than MAX_LIFETIME_SECONDS ahead (a short-lived assertion, RFC 7523 §3
 *   item 4, RFC 9700 §2.5 spirit); `nbf`/`iat` not in the future (60 s of clock skew);
 * - `jti` present and used once (RFC 7523 §3 item 7): the replay cache shared by every node (replay-cache.ts), kept
 *   until the assertion's own expiry.
 */
import { decodeJwt, errors as joseErrors, jwtVerify } from "jose";
import { OAuthError } from "./errors.ts";
import { KeySetError, type KeySets } from "./key-sets.ts";
import type { ReplayCache } from "./replay-cache.ts";

export const CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/** RFC 7518 §3.1 / RFC 8037: asymmetric algorithms only. Advertised as token_endpoint_auth_signing_alg_values_supported. */
export const ASSERTION_SIGNING_ALGS = ["RS256", "PS256", "ES256", "EdDSA"] as const;
export const MAX_LIFETIME_SECONDS = 300;
export const CLOCK_SKEW_SECONDS = 60;
const MAX_ASSERTION_LENGTH = 8_192;

export interface AssertionClient {
  /** Client row id, for the security event. */
  id: string;
  clientId: string;
  jwks: unknown;
  jwksUri: string | null;
}

export interface ClientAssertionDeps {
  /** This server's issuer identifier (APP_URL). */
  issuer: string;
  /** The token endpoint's URL. */
  tokenEndpoint: string;
  keySets: KeySets;
  replay: Pick<ReplayCache, "firstUse">;
}

/**
 * The client an assertion claims to come from (its `sub`, else `iss`), read WITHOUT verifying it: only to find the
 * client whose keys then verify it (RFC 7523 §3: the client_id parameter may be omitted). Undefined when unreadable.
 */
export function claimedClientId(assertion: string): string | undefined {
  if (assertion.length > MAX_ASSERTION_LENGTH) return undefined;
  try {
    const claims = decodeJwt(assertion);
    const id = typeof claims.sub === "string" ? claims.sub : claims.iss;
    return typeof id === "string" && id.length > 0 && id.length <= 2000 ? id : undefined;
  } catch {
    return undefined;
  }
}

export class ClientAssertionVerifier {
  constructor(private readonly deps: ClientAssertionDeps) {}

  /** The audiences a client may name: the issuer identifier (with or without a trailing slash) or the token endpoint. */
  audiences(): string[] {
    const issuer = this.deps.issuer.replace(/\/+$/, "");
    return [issuer, issuer + "/", this.deps.tokenEndpoint];
  }

  /** Verifies `assertion` as `client`'s authentication; throws `invalid_client` with the reason otherwise. */
  async verify(client: AssertionClient, assertion: string, basicAuth = false, now = Date.now()): Promise<void> {
    const fail = (description: string, reason: string, severity: "low" | "medium" | "high" = "medium") =>
      new OAuthError("invalid_client", description, {
        basicAuth,
        reason,
        security: { type: "INVALID_CLIENT", severity, details: { reason, method: "private_key_jwt" } },
      });
    if (assertion.length > MAX_ASSERTION_LENGTH) throw fail("client_assertion is too long", "assertion_too_long", "low");
    let payload: Awaited<ReturnType<typeof jwtVerify>>["payload"];
    try {
      ({ payload } = await jwtVerify(assertion, this.deps.keySets.resolver(client), {
        algorithms: [...ASSERTION_SIGNING_ALGS],
        issuer: client.clientId,
        subject: client.clientId,
        audience: this.audiences(),
        requiredClaims: ["exp", "jti"],
        clockTolerance: CLOCK_SKEW_SECONDS,
        currentDate: new Date(now),
      }));
    } catch (error) {
      throw this.explain(error, fail);
    }
    const nowSeconds = Math.floor(now / 1000);
    if (payload.exp! - nowSeconds > MAX_LIFETIME_SECONDS + CLOCK_SKEW_SECONDS) {
      throw fail(`client_assertion must expire within ${MAX_LIFETIME_SECONDS} seconds`, "assertion_lifetime_too_long");
    }
    if (typeof payload.iat === "number" && payload.iat > nowSeconds + CLOCK_SKEW_SECONDS) {
      throw fail("client_assertion was issued in the future", "assertion_iat_in_future");
    }
    const jti = payload.jti!;
    if (typeof jti !== "string" || jti.length === 0 || jti.length > 256) throw fail("client_assertion needs a jti", "assertion_bad_jti");
    const first = await this.deps.replay.firstUse("client-assertion", `${client.clientId}\n${jti}`, payload.exp! * 1000 + CLOCK_SKEW_SECONDS * 1000, now);
    if (!first) throw fail("client_assertion was already used (jti)", "assertion_replay", "high");
  }

  private explain(error: unknown, fail: (description: string, reason: string, severity?: "low" | "medium" | "high") => OAuthError): OAuthError {
    if (error instanceof KeySetError) {
      if (error.reason === "fetch_failed") return fail("the client's jwks_uri could not be fetched", "jwks_fetch_failed", "low");
      if (error.reason === "unknown_kid") return fail("no registered key matches the client_assertion's kid", "assertion_unknown_kid");
      return fail("the client has no usable keys", `jwks_${error.reason}`, "low");
    }
    if (error instanceof joseErrors.JWTExpired) return fail("client_assertion has expired", "assertion_expired");
    if (error instanceof joseErrors.JWTClaimValidationFailed) {
      const claim = error.claim;
      if (claim === "aud") return fail("client_assertion aud must be this server's issuer or token endpoint", "assertion_wrong_aud");
      if (claim === "iss" || claim === "sub") return fail("client_assertion iss and sub must both be the client_id", `assertion_wrong_${claim}`);
      return fail(`client_assertion ${claim} claim is missing or invalid`, `assertion_bad_${claim}`);
    }
    if (error instanceof joseErrors.JWSSignatureVerificationFailed) return fail("client_assertion signature is invalid", "assertion_bad_signature", "high");
    if (error instanceof joseErrors.JOSEAlgNotAllowed) return fail(`client_assertion must be signed with ${ASSERTION_SIGNING_ALGS.join(", ")}`, "assertion_alg_not_allowed");
    return fail("client_assertion is not a valid signed JWT", "assertion_malformed", "low");
  }
}
