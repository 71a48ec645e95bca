/**
 * PKCE (RFC 7636) (pure, real crypto). Only S256 is accepted (OAuth 2.1 §4.1.1, RFC 9700 §2.1.1): `plain` would
 * hand the verifier to whoever reads the authorization request.
 */
import { createHash } from "node:crypto";
import { safeEqual } from "../crypto.ts";
import { OAuthError } from "./errors.ts";

/** RFC 7636 §4.1: code_verifier = 43*128 unreserved characters. */
export const CODE_VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;
/** RFC 7636 §4.2: S256 challenge = BASE64URL(SHA256(verifier)) = 43 characters, no padding. */
export const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

/** RFC 7636 §4.2: code_challenge = BASE64URL-ENCODE(SHA256(ASCII(code_verifier))). */
export function s256(verifier: string): string {
  return createHash("sha256").update(verifier, "ascii").digest("base64url");
}

/**
 * Checks the PKCE parameters of an authorization request (RFC 7636 §4.3, §4.4.1): a challenge is required, the
 * method must be S256 (absent means `plain`, RFC 7636 §4.3, so it is refused too).
 */
export function checkCodeChallenge(challenge: string | undefined, method: string | undefined): void {
  if (!challenge) throw new OAuthError("invalid_request", "code_challenge is required (PKCE, RFC 7636)");
  if (method !== "S256") {
    throw new OAuthError("invalid_request", method ? "code_challenge_method must be S256" : "code_challenge_method is required and must be S256");
  }
  if (!S256_CHALLENGE.test(challenge)) {
    throw new OAuthError("invalid_request", "code_challenge must be the 43-character base64url SHA-256 of the code verifier");
  }
}

/** RFC 7636 §4.6: the server verifies by recomputing the challenge from the verifier; constant-time comparison. */
export function verifyCodeVerifier(verifier: string, challenge: string): boolean {
  if (!CODE_VERIFIER.test(verifier)) return false;
  return safeEqual(s256(verifier), challenge);
}
