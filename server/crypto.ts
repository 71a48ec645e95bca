/**
 * Secrets: random values with recognisable prefixes (so secret scanners can find leaked ones), stored only as
 * SHA-256 digests, compared in constant time (RFC 9700 §4.14; OWASP ASVS 5.0 V10).
 */
import crypto, { createHash, randomBytes, randomFillSync, timingSafeEqual } from "node:crypto";

/** Prefixes of every secret this server hands out. */
export const SecretPrefix = {
  accessToken: "mcpat_",
  refreshToken: "mcprt_",
  authorizationCode: "mcpac_",
  clientSecret: "mcpcs_",
  clientId: "mcpc_",
  session: "mcpss_",
} as const;

/** A random secret: prefix + 256 bits, base64url. */
export function randomSecret(prefix: string, bytes = 32): string {
  return prefix + randomFill(bytes).toString("base64url");
}

/**
 * Randomness from the CSPRNG, drawn from a pool refilled 4 KB at a time (as Node does for randomUUID): one
 * getrandom call for ~100 tokens instead of one each. Bytes handed out are zeroed in the pool, and the pool is
 * never shared: each caller gets a copy.
 */
const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let poolOffset = POOL_BYTES;

export function randomFill(size: number): Buffer {
  if (size > POOL_BYTES / 4) return randomBytes(size);
  if (poolOffset + size > POOL_BYTES) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const out = Buffer.from(pool.subarray(poolOffset, poolOffset + size));
  pool.fill(0, poolOffset, poolOffset + size);
  poolOffset += size;
  return out;
}

/**
 * Node's one-shot `crypto.hash` (Node >= 20.12) where it exists: about a third of the cost of `createHash()`, paid
 * for every presented token, code and secret.
 */
const oneShotHash: typeof crypto.hash | undefined = crypto.hash;

/** The SHA-256 digest of a UTF-8 string, hex: what every stored token, code and secret digest is. */
export function sha256Hex(value: string): string {
  return oneShotHash ? oneShotHash("sha256", value, "hex") : createHash("sha256").update(value, "utf8").digest("hex");
}

/** Constant-time string equality (lengths are compared first; the length of a digest is public). */
export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, "utf8");
  const right = Buffer.from(b, "utf8");
  if (left.length !== right.length) return false;
  return timingSafeEqual(left, right);
}

/** Checks a presented secret against a stored digest in constant time. */
export function matchesDigest(presented: string, storedDigest: string): boolean {
  return safeEqual(sha256Hex(presented), storedDigest);
}
