/**
 * DPoP proofs (RFC 9449): a JWT the client signs with its own key for each request, so a token bound to that key
 * (`cnf.jkt`) is useless to anyone who copies it. One checker for the token endpoint and the MCP endpoints.
 *
 * RFC 9449 §4.3, in order: one `DPoP` header holding one compact JWS; `typ` `dpop+jwt`; an asymmetric `alg` this
 * server supports (`DPOP_SIGNING_ALGS`, advertised as `dpop_signing_alg_values_supported`); `jwk` a public key (no
 * private members) that verifies the signature; `jti` present; `htm` the request's method; `htu` the request's URI
 * without query and fragment, both normalised (RFC 3986 §6.2.2-6.2.3: case of scheme and host, default port, percent
 * encoding, dot segments); `iat` within the window below; a server nonce when one is required (§8, §9); and, at a
 * resource, `ath` the base64url SHA-256 of the access token (§7). `jti` single use is the caller's (replay-cache.ts),
 * after this check, so that a forged proof cannot burn someone's `jti`.
 *
 * `iat` window: a proof is accepted from 300 s before to 60 s after this server's clock (the MCP DPoP draft's
 * conformance scenarios use ±5 minutes; a proof dated more than a minute ahead is a clock problem, reported as such).
 *
 * Checked headers are cached (see CheckedHeader): a client signs every proof with one key, and parsing and importing
 * the JWK is the costly half of a check.
 */
import { constants, createHash, KeyObject, verify as cryptoVerify } from "node:crypto";
import { base64url, calculateJwkThumbprint, decodeProtectedHeader, importJWK, type JWK } from "jose";

/** RFC 9449 §5.1 `dpop_signing_alg_values_supported`: asymmetric only (§4.3: never `none` or a MAC). */
export const DPOP_SIGNING_ALGS = ["ES256", "ES384", "ES512", "EdDSA", "Ed25519", "RS256", "PS256", "RS384", "PS384", "RS512", "PS512"] as const;

export const DPOP_IAT_WINDOW = { pastSeconds: 300, futureSeconds: 60 } as const;
const MAX_PROOF_LENGTH = 8192;
const MAX_JTI_LENGTH = 256;
const PRIVATE_JWK_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/** Refusals that point at a copied proof or token rather than a client bug: recorded as high-severity events. */
const THEFT_REASONS = new Set(["jti_replay", "jkt_mismatch"]);

/** Why a proof was refused: the wire error (RFC 9449 §7.1, §8) and the internal reason for logs and events. */
export class DpopError extends Error {
  constructor(
    readonly error: "invalid_dpop_proof" | "use_dpop_nonce",
    readonly description: string,
    readonly reason: string,
  ) {
    super(description);
    this.name = "DpopError";
  }

  /** The severity of the INVALID_DPOP_PROOF security event this refusal records (token endpoint and resources alike). */
  get severity(): "high" | "low" {
    return THEFT_REASONS.has(this.reason) ? "high" : "low";
  }
}

export interface DpopRequest {
  /** Every `DPoP` header value the request carried. */
  headers: readonly string[];
  method: string;
  /** The request's absolute URI as the client addressed it (APP_URL-based). */
  url: string;
  /** At a resource: the access token presented with the proof (checked against `ath`). */
  accessToken?: string;
  /** When a nonce is required: whether this one is current (`undefined` = nonces not required). */
  nonceValid?: (nonce: string) => boolean;
  now?: number;
}

export interface VerifiedProof {
  /** RFC 7638 SHA-256 thumbprint of the proof's key, base64url: what `cnf.jkt` binds. */
  jkt: string;
  jti: string;
  iat: number;
  /** The nonce the proof carried (the caller may send a fresh one back). */
  nonce?: string;
}

/**
 * What a proof's protected header establishes once checked, cached by the header's encoded form: a client sends the
 * same header (typ, alg, jwk) with every proof, so the JSON, the key import and the thumbprint are done once per key
 * and each later proof costs one signature check (node:crypto, synchronous) and its payload's parse.
 */
interface CheckedHeader {
  alg: string;
  jkt: string;
  key: KeyObject;
}
const headerCache = new Map<string, CheckedHeader>();
const HEADER_CACHE_LIMIT = 10_000;

export async function verifyDpopProof(request: DpopRequest): Promise<VerifiedProof> {
  if (request.headers.length !== 1) {
    throw new DpopError("invalid_dpop_proof", request.headers.length === 0 ? "DPoP proof missing" : "exactly one DPoP header is allowed", request.headers.length === 0 ? "missing" : "several_headers");
  }
  const proof = request.headers[0]!.trim();
  if (proof.length > MAX_PROOF_LENGTH || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(proof)) {
    throw new DpopError("invalid_dpop_proof", "the DPoP proof is not a compact JWS", "malformed");
  }
  const firstDot = proof.indexOf(".");
  const secondDot = proof.indexOf(".", firstDot + 1);
  const encodedHeader = proof.slice(0, firstDot);
  const { alg, jkt, key } = headerCache.get(encodedHeader) ?? (await checkHeader(proof, encodedHeader));
  if (!verifySignature(alg, key, proof.slice(0, secondDot), Buffer.from(proof.slice(secondDot + 1), "base64url"))) {
    throw new DpopError("invalid_dpop_proof", "the DPoP proof signature does not verify", "signature");
  }
  let payload: Record<string, unknown>;
  try {
    payload = JSON.parse(Buffer.from(proof.slice(firstDot + 1, secondDot), "base64url").toString("utf8")) as Record<string, unknown>;
  } catch {
    throw new DpopError("invalid_dpop_proof", "the DPoP proof payload is not JSON", "malformed");
  }
  if (payload === null || typeof payload !== "object" || Array.isArray(payload)) {
    throw new DpopError("invalid_dpop_proof", "the DPoP proof payload is not a JSON object", "malformed");
  }
  const { jti, htm, htu, iat, ath, nonce } = payload;
  if (typeof jti !== "string" || jti.length === 0 || jti.length > MAX_JTI_LENGTH) throw new DpopError("invalid_dpop_proof", "the DPoP proof needs a jti", "jti");
  if (htm !== request.method) throw new DpopError("invalid_dpop_proof", "the DPoP proof htm does not match the request method", "htm");
  if (typeof htu !== "string" || (htu !== request.url && normaliseHtu(htu) !== normaliseHtu(request.url))) {
    throw new DpopError("invalid_dpop_proof", "the DPoP proof htu does not match the request URI", "htu");
  }
  const now = Math.floor((request.now ?? Date.now()) / 1000);
  if (typeof iat !== "number" || !Number.isFinite(iat)) throw new DpopError("invalid_dpop_proof", "the DPoP proof needs a numeric iat", "iat");
  if (iat < now - DPOP_IAT_WINDOW.pastSeconds) throw new DpopError("invalid_dpop_proof", "the DPoP proof is too old (iat)", "iat_stale");
  if (iat > now + DPOP_IAT_WINDOW.futureSeconds) throw new DpopError("invalid_dpop_proof", "the DPoP proof is dated in the future (iat): check the client clock", "iat_future");
  if (request.accessToken !== undefined) {
    const expected = accessTokenHash(request.accessToken);
    if (ath !== expected) throw new DpopError("invalid_dpop_proof", "the DPoP proof ath does not match the access token", ath === undefined ? "ath_missing" : "ath");
  }
  if (request.nonceValid) {
    if (typeof nonce !== "string") throw new DpopError("use_dpop_nonce", "a DPoP nonce is required (use the DPoP-Nonce header)", "nonce_missing");
    if (!request.nonceValid(nonce)) throw new DpopError("use_dpop_nonce", "the DPoP nonce is not current (use the DPoP-Nonce header)", "nonce_stale");
  }
  return { jkt, jti, iat, ...(typeof nonce === "string" ? { nonce } : {}) };
}

/** The header checks of RFC 9449 §4.3 (typ, alg, a public jwk that fits alg), done once per distinct header. */
async function checkHeader(proof: string, encodedHeader: string): Promise<CheckedHeader> {
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(proof);
  } catch {
    throw new DpopError("invalid_dpop_proof", "the DPoP proof header is not valid", "malformed");
  }
  if (header.typ !== "dpop+jwt") throw new DpopError("invalid_dpop_proof", 'the DPoP proof typ must be "dpop+jwt"', "typ");
  if (typeof header.alg !== "string" || !(DPOP_SIGNING_ALGS as readonly string[]).includes(header.alg)) {
    throw new DpopError("invalid_dpop_proof", "the DPoP proof alg is not supported", "alg");
  }
  const jwk = header.jwk as JWK | undefined;
  if (!jwk || typeof jwk !== "object" || Array.isArray(jwk) || typeof jwk.kty !== "string") {
    throw new DpopError("invalid_dpop_proof", "the DPoP proof header must carry the public key (jwk)", "jwk_missing");
  }
  if (PRIVATE_JWK_MEMBERS.some((member) => member in jwk)) {
    throw new DpopError("invalid_dpop_proof", "the DPoP proof jwk must be a public key", "jwk_private");
  }
  let jkt: string;
  try {
    jkt = await calculateJwkThumbprint(jwk, "sha256");
  } catch {
    throw new DpopError("invalid_dpop_proof", "the DPoP proof jwk is not a valid key", "jwk_invalid");
  }
  let key: KeyObject;
  try {
    // jose checks that the key fits the algorithm (kty, crv, RSA size); node:crypto verifies from then on.
    const imported = await importJWK(jwk, header.alg);
    if (imported instanceof Uint8Array) throw new TypeError("a symmetric key");
    key = KeyObject.from(imported);
  } catch {
    throw new DpopError("invalid_dpop_proof", "the DPoP proof jwk does not fit its alg", "jwk_alg");
  }
  if (key.type !== "public") throw new DpopError("invalid_dpop_proof", "the DPoP proof jwk must be a public key", "jwk_private");
  const checked = { alg: header.alg, jkt, key };
  if (headerCache.size >= HEADER_CACHE_LIMIT) headerCache.delete(headerCache.keys().next().value!);
  headerCache.set(encodedHeader, checked);
  return checked;
}

/** RFC 7518 §3 signature check of a JWS signing input. */
function verifySignature(alg: string, key: KeyObject, signingInput: string, signature: Buffer): boolean {
  const data = Buffer.from(signingInput, "ascii");
  try {
    switch (alg) {
      case "ES256":
      case "ES384":
      case "ES512":
        return cryptoVerify(`sha${alg.slice(2)}`, data, { key, dsaEncoding: "ieee-p1363" }, signature);
      case "RS256":
      case "RS384":
      case "RS512":
        return cryptoVerify(`sha${alg.slice(2)}`, data, key, signature);
      case "PS256":
      case "PS384":
      case "PS512":
        return cryptoVerify(`sha${alg.slice(2)}`, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }, signature);
      case "EdDSA":
      case "Ed25519":
        return cryptoVerify(null, data, key, signature);
      default:
        return false;
    }
  } catch {
    return false;
  }
}

/**
 * The comparable form of an `htu` or request URI (RFC 9449 §4.3 item 9, RFC 3986 §6.2.2-6.2.3): query and fragment
 * dropped, scheme and host lower case, default port dropped, percent-encoding of unreserved characters decoded and
 * the rest upper-cased, dot segments resolved, an empty path as "/". Anything that is not an http(s) URI compares as
 * itself (and so never matches).
 */
export function normaliseHtu(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `invalid:${value}`;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return `invalid:${value}`;
  // WHATWG URL parsing already lower-cases scheme and host, drops default ports and resolves dot segments.
  const path = (url.pathname || "/").replace(/%[0-9a-fA-F]{2}/g, (escape) => {
    const char = String.fromCharCode(parseInt(escape.slice(1), 16));
    return /[A-Za-z0-9\-._~]/.test(char) ? char : escape.toUpperCase();
  });
  return `${url.protocol}//${url.host}${path}`;
}

/** RFC 9449 §7.1: the access token hash a resource compares with `ath`. */
export function accessTokenHash(token: string): string {
  return base64url.encode(createHash("sha256").update(token, "ascii").digest());
}
