/**
 * A DPoP client's proofs (RFC 9449 §4.2), made with jose: a key pair and a function that signs a proof for a
 * request, with every claim overridable so tests can break one rule at a time.
 */
import { createHash, randomUUID } from "node:crypto";
import { base64url, exportJWK, generateKeyPair, SignJWT, type JWK } from "jose";

export interface ProofOptions {
  htm?: string;
  htu?: string;
  iat?: number;
  jti?: string;
  nonce?: string;
  accessToken?: string;
  /** Override or drop (undefined) header members. */
  header?: Record<string, unknown>;
  /** Extra or overriding payload claims. */
  claims?: Record<string, unknown>;
  /** Sign with another key than the one in the header. */
  signWith?: CryptoKey;
}

export interface DpopKey {
  alg: string;
  publicJwk: JWK;
  privateKey: CryptoKey;
  proof(method: string, url: string, options?: ProofOptions): Promise<string>;
}

export async function dpopKey(alg = "ES256"): Promise<DpopKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  return {
    alg,
    publicJwk,
    privateKey,
    async proof(method, url, options = {}) {
      const payload: Record<string, unknown> = {
        htm: options.htm ?? method,
        htu: options.htu ?? url,
        iat: options.iat ?? Math.floor(Date.now() / 1000),
        jti: options.jti ?? randomUUID(),
        ...(options.nonce ? { nonce: options.nonce } : {}),
        ...(options.accessToken ? { ath: base64url.encode(createHash("sha256").update(options.accessToken).digest()) } : {}),
        ...options.claims,
      };
      const header = { alg, typ: "dpop+jwt", jwk: publicJwk, ...options.header };
      for (const [key, value] of Object.entries(header)) if (value === undefined) delete (header as Record<string, unknown>)[key];
      return new SignJWT(payload).setProtectedHeader(header as { alg: string }).sign(options.signWith ?? privateKey);
    },
  };
}
