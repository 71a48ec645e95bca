/**
 * The JWT bearer grant carrying an Identity Assertion JWT Authorization Grant (ID-JAG): MCP enterprise-managed
 * authorization (ext-auth `enterprise-managed-authorization`, draft-ietf-oauth-identity-assertion-authz-grant §5,
 * RFC 7523 §2.1 / §3, RFC 7521 §4.1). The client, already authenticated by the endpoint, presents
 * `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<ID-JAG>` that a trusted identity provider issued
 * for one of its people.
 *
 * Steps (each refusal is `invalid_grant` unless noted, RFC 7521 §4.1.1), then issue (standalone-grant.ts):
 *   readAssertion → checkType (`typ` = `oauth-id-jag+jwt`, RFC 8725 §3.11) → findIssuer (a trusted, enabled IdP) →
 *   verify (signature by the IdP's JWKS; `aud` = our issuer; `exp`, `iat` required and sane) → checkClient (the
 *   `client_id` claim is the authenticated client) → checkResource (`resource` claim required, one of ours, the
 *   token bound to it; a `resource` parameter must agree: `invalid_target`) → checkReplay (`jti` once, across nodes)
 *   → mapSubject (the person with the assertion's `email`; created on first use only if the IdP allows) →
 *   decideScope (what was asked, within the IdP's `scope` claim and the client's registration; `mcp:admin` only for
 *   an ADMIN) → issue (no refresh token: the client gets a fresh ID-JAG from its IdP instead).
 */
import { decodeJwt, decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTPayload } from "jose";
import { OAuthError } from "../errors.ts";
import { KeySetError } from "../key-sets.ts";
import { trustedIdentityProvider } from "../identity-providers.ts";
import { ASSERTION_SIGNING_ALGS, CLOCK_SKEW_SECONDS } from "../client-assertion.ts";
import { resolveResource } from "../resources.ts";
import { decideScopes, formatScope, parseScope, scopesCover } from "../scopes.ts";
import { issueStandaloneGrant } from "../standalone-grant.ts";
import type { GrantHandler } from "./handler.ts";

export const JWT_BEARER_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer";
export const ID_JAG_TYP = "oauth-id-jag+jwt";
/** Advertised in `authorization_grant_profiles_supported` (draft-ietf-oauth-identity-assertion-authz-grant). */
export const ID_JAG_PROFILE = "urn:ietf:params:oauth:grant-profile:id-jag";
const MAX_ASSERTION_LENGTH = 16_384;

export const redeemIdentityAssertion: GrantHandler = async (deps, { params, client, origin, now, dpopJkt }) => {
  const refuse = (description: string, reason: string, severity: "low" | "medium" | "high" = "medium", details: Record<string, unknown> = {}) =>
    new OAuthError("invalid_grant", description, {
      reason,
      security: { type: "SUSPICIOUS_ACTIVITY", severity, details: { reason, grant: "id-jag", ...details } },
    });

  // readAssertion (RFC 7521 §4.1: exactly one)
  const assertion = params.require("assertion");
  if (assertion.length > MAX_ASSERTION_LENGTH) throw new OAuthError("invalid_grant", "the assertion is too long", { reason: "idjag_too_long" });
  let header: ReturnType<typeof decodeProtectedHeader>;
  let unverified: JWTPayload;
  try {
    header = decodeProtectedHeader(assertion);
    unverified = decodeJwt(assertion);
  } catch {
    throw new OAuthError("invalid_grant", "the assertion is not a JWT", { reason: "idjag_malformed" });
  }

  // checkType
  if (typeof header.typ !== "string" || header.typ.toLowerCase() !== ID_JAG_TYP) {
    throw new OAuthError("invalid_grant", `the assertion's typ must be ${ID_JAG_TYP}`, { reason: "idjag_wrong_typ" });
  }

  // findIssuer
  const issuer = typeof unverified.iss === "string" ? unverified.iss : "";
  const idp = issuer ? await trustedIdentityProvider(deps, issuer) : null;
  if (!idp) throw refuse("the assertion's issuer is not a trusted identity provider", "idjag_untrusted_issuer", "high", { issuer: issuer.slice(0, 200) });
  const fromIdp = { issuer: idp.issuer, identityProviderId: idp.id };

  // verify
  const ourIssuer = deps.env.APP_URL.replace(/\/+$/, "");
  let claims: JWTPayload;
  try {
    ({ payload: claims } = await jwtVerify(assertion, deps.keySets.resolver({ jwks: idp.jwks, jwksUri: idp.jwksUri }), {
      algorithms: [...ASSERTION_SIGNING_ALGS],
      issuer: idp.issuer,
      audience: [ourIssuer, ourIssuer + "/"],
      typ: ID_JAG_TYP,
      requiredClaims: ["sub", "exp", "iat", "jti", "client_id"],
      clockTolerance: CLOCK_SKEW_SECONDS,
      currentDate: now,
    }));
  } catch (error) {
    throw explain(error, refuse, fromIdp);
  }
  if ((claims.iat as number) > Math.floor(now.getTime() / 1000) + CLOCK_SKEW_SECONDS) {
    throw refuse("the assertion was issued in the future", "idjag_iat_in_future", "medium", fromIdp);
  }

  // checkClient (ext-auth §5.1: the same client as the request's authentication)
  if (claims.client_id !== client.clientId) {
    throw refuse("the assertion was issued to another client", "idjag_client_mismatch", "high", fromIdp);
  }

  // checkResource (ext-auth §4.3: `resource` REQUIRED; the token is bound to it)
  if (typeof claims.resource !== "string" || claims.resource === "") {
    throw refuse("the assertion names no resource", "idjag_no_resource", "low", fromIdp);
  }
  const resource = resolveResource([claims.resource], deps.env.APP_URL);
  const requestedResource = params.getAll("resource");
  if (requestedResource.length > 0 && resolveResource(requestedResource, deps.env.APP_URL) !== resource) {
    throw new OAuthError("invalid_target", "resource differs from the one the assertion was issued for", { reason: "idjag_resource_mismatch" });
  }

  // checkReplay (RFC 7523 §3 item 7)
  const jti = claims.jti!;
  if (typeof jti !== "string" || jti.length === 0 || jti.length > 256) throw refuse("the assertion's jti is invalid", "idjag_bad_jti", "low", fromIdp);
  const first = await deps.replay.firstUse("id-jag", `${idp.issuer}\n${jti}`, (claims.exp! + CLOCK_SKEW_SECONDS) * 1000, now.getTime());
  if (!first) {
    throw new OAuthError("invalid_grant", "the assertion was already used", {
      reason: "idjag_replay",
      security: { type: "TOKEN_REUSE", severity: "high", details: { reason: "idjag_replay", grant: "id-jag", ...fromIdp } },
    });
  }

  // mapSubject: people are known here by email (the draft's implementation notes suggest an `email` claim).
  const email = typeof claims.email === "string" ? claims.email.trim().toLowerCase() : "";
  if (!email || email.length > 320 || !email.includes("@")) throw refuse("the assertion names no email for its subject", "idjag_no_email", "low", fromIdp);
  let user = await deps.prisma.user.findUnique({ where: { email }, select: { id: true, role: true } });
  if (!user) {
    if (!idp.allowNewUsers) throw refuse("no account exists for this person, and this identity provider may not create one", "idjag_unknown_user", "low", fromIdp);
    user = await deps.prisma.user.upsert({
      where: { email },
      create: { email, name: typeof claims.name === "string" ? claims.name.slice(0, 200) : null, role: deps.env.ADMIN_EMAILS.includes(email) ? "ADMIN" : "USER" },
      update: {},
      select: { id: true, role: true },
    });
  }
  origin.userId = user.id;

  // decideScope: within what the IdP approved (its `scope` claim), the client's registration and the person's role.
  const idpScope = typeof claims.scope === "string" ? parseScope(claims.scope) : null;
  const asked = params.get("scope") ?? (idpScope ? idpScope.join(" ") : undefined);
  if (idpScope && !scopesCover(idpScope, parseScope(asked))) {
    throw new OAuthError("invalid_scope", "scope exceeds what the identity provider approved in the assertion", { reason: "idjag_scope_exceeds" });
  }
  const { scopes } = decideScopes({ requested: asked, clientScope: client.scope, isAdmin: user.role === "ADMIN" });

  const { response } = await issueStandaloneGrant(
    deps,
    { clientDbId: client.id, userId: user.id, identityProviderId: idp.id, scope: formatScope(scopes), resource, dpopJkt },
    now,
  );
  deps.emit.tokenIssued(origin, JWT_BEARER_GRANT_TYPE, false);
  return response;
};

function explain(
  error: unknown,
  refuse: (description: string, reason: string, severity?: "low" | "medium" | "high", details?: Record<string, unknown>) => OAuthError,
  details: Record<string, unknown>,
): OAuthError {
  if (error instanceof KeySetError) {
    if (error.reason === "unknown_kid") return refuse("no key of the identity provider matches the assertion's kid", "idjag_unknown_kid", "medium", details);
    return refuse("the identity provider's keys could not be loaded", `idjag_jwks_${error.reason}`, "low", details);
  }
  if (error instanceof joseErrors.JWTExpired) return refuse("the assertion has expired", "idjag_expired", "low", details);
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === "aud") return refuse("the assertion's aud must be this authorization server's issuer", "idjag_wrong_aud", "medium", details);
    return refuse(`the assertion's ${error.claim} claim is missing or invalid`, `idjag_bad_${error.claim}`, "low", details);
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return refuse("the assertion's signature is invalid", "idjag_bad_signature", "high", details);
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return refuse(`the assertion must be signed with ${ASSERTION_SIGNING_ALGS.join(", ")}`, "idjag_alg_not_allowed", "medium", details);
  return refuse("the assertion is not a valid signed JWT", "idjag_malformed", "low", details);
}
