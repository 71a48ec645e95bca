/**
 * Client identifiers and secrets. A secret is shown once (registration or rotation) and stored only as its SHA-256
 * digest in Client.clientSecretHash (RFC 9700 §4.14); presented secrets are compared in constant time.
 * Reused by the admin console (manual clients, secret rotation).
 */
import { SecretPrefix, matchesDigest, randomSecret, sha256Hex } from "../crypto.ts";

/** A new public client identifier: `mcpc_` + 128 random bits. Not a secret. */
export function generateClientId(): string {
  return randomSecret(SecretPrefix.clientId, 16);
}

/** A new client secret (`mcpcs_` + 256 bits) and the digest to store. */
export function generateClientSecret(): { secret: string; hash: string } {
  const secret = randomSecret(SecretPrefix.clientSecret);
  return { secret, hash: hashClientSecret(secret) };
}

export function hashClientSecret(secret: string): string {
  return sha256Hex(secret);
}

/** Constant-time check of a presented secret against the stored digest. */
export function verifyClientSecret(presented: string, storedHash: string | null | undefined): boolean {
  if (!storedHash) return false;
  return matchesDigest(presented, storedHash);
}

/** Token endpoint authentication methods this server supports (RFC 7591 §2, RFC 6749 §2.3.1). */
export const TOKEN_ENDPOINT_AUTH_METHODS = ["none", "client_secret_basic", "client_secret_post"] as const;
export type TokenEndpointAuthMethod = (typeof TOKEN_ENDPOINT_AUTH_METHODS)[number];

export function isConfidentialMethod(method: string): boolean {
  return method === "client_secret_basic" || method === "client_secret_post";
}
