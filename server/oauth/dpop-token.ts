/**
 * DPoP at the token endpoint (RFC 9449 §5): a `DPoP` proof on a token request binds the access token it gets to the
 * proof's key (`token_type` "DPoP", the key's thumbprint stored as `cnf.jkt`), and for public clients the refresh
 * token too (§5: a confidential client's refresh token is already bound to its credentials).
 *
 * The proof is checked by the one DpopVerifier (dpop-verifier.ts: RFC 9449 §4.3, the server nonce of §8 where
 * DPOP_NONCE asks for it, `jti` single use across nodes). `htu` is the token endpoint as the metadata publishes it.
 * A client registered with `dpop_bound_access_tokens` (§5.2, the console's "DPoP required") must send a proof.
 * Every refused proof is an INVALID_DPOP_PROOF security event.
 */
import type { ClientRecord } from "./clients.ts";
import type { OAuthDeps } from "./deps.ts";
import { DpopError } from "./dpop.ts";
import type { OAuthHttpRequest } from "./endpoint-http.ts";
import { OAuthError } from "./errors.ts";
import { OAUTH_PATHS } from "./metadata.ts";

/** The key a token request proved possession of (its RFC 7638 thumbprint), or null without a proof. */
export async function tokenRequestKey(deps: OAuthDeps, request: Pick<OAuthHttpRequest, "method" | "headers">, client: ClientRecord): Promise<string | null> {
  const header = request.headers.get("dpop");
  if (header === null) {
    if (client.dpopRequired) {
      throw refused(deps, new DpopError("invalid_dpop_proof", "this client must send a DPoP proof with its token requests (RFC 9449 §5.2)", "dpop_required"));
    }
    return null;
  }
  try {
    // Fetch (and the host, endpoint-http.ts) joins repeated headers with ", "; a compact JWS has neither, so two proofs stay two (and are refused).
    const proof = await deps.dpop.verify("token", {
      headers: header.split(",").map((value) => value.trim()),
      method: request.method,
      url: deps.env.APP_URL + OAUTH_PATHS.token,
    });
    return proof.jkt;
  } catch (error) {
    if (error instanceof DpopError) throw refused(deps, error);
    throw error;
  }
}

/** The headers every token response carries when nonces are in use (RFC 9449 §8.2: a fresh nonce). */
export function tokenDpopHeaders(deps: OAuthDeps): Record<string, string> {
  return deps.dpop.nonceHeader("token");
}

function refused(deps: OAuthDeps, error: DpopError): OAuthError {
  return new OAuthError(error.error, error.description, {
    reason: error.reason,
    // use_dpop_nonce must carry the nonce to use (§8); the others carry it too so the retry can succeed at once.
    headers: error.error === "use_dpop_nonce" ? { "DPoP-Nonce": deps.dpop.nonces.current() } : tokenDpopHeaders(deps),
    security:
      error.error === "use_dpop_nonce"
        ? undefined
        : { type: "INVALID_DPOP_PROOF", severity: error.severity, details: { reason: error.reason, endpoint: "token" } },
  });
}
