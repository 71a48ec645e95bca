/**
 * DPoP proof checks, RFC 9449 §4.3 (one rule broken at a time, with real keys), the nonce rotation of §8-9, and
 * the htu normalisation of RFC 3986 §6.2.2-6.2.3.
 */
import { describe, expect, it } from "vitest";
import { DpopError, normaliseHtu, verifyDpopProof, type DpopRequest } from "../../server/oauth/dpop.ts";
import { DpopNonces } from "../../server/oauth/dpop-nonce.ts";
import { dpopKey } from "../helpers/dpop.ts";

const URL_ = "https://mcp.example.com/api/oauth/token";

async function refusal(request: DpopRequest): Promise<{ error: string; reason: string }> {
  try {
    await verifyDpopProof(request);
  } catch (error) {
    expect(error).toBeInstanceOf(DpopError);
    return { error: (error as DpopError).error, reason: (error as DpopError).reason };
  }
  throw new Error("expected the proof to be refused");
}

describe("DPoP proof checks, RFC 9449 §4.3", () => {
  it("accepts a proof per algorithm and returns the key's RFC 7638 thumbprint", async () => {
    for (const alg of ["ES256", "EdDSA", "RS256", "PS256", "ES384"]) {
      const key = await dpopKey(alg);
      const verified = await verifyDpopProof({ headers: [await key.proof("POST", URL_)], method: "POST", url: URL_ });
      expect(verified.jkt).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const again = await verifyDpopProof({ headers: [await key.proof("POST", URL_)], method: "POST", url: URL_ });
      expect(again.jkt).toBe(verified.jkt);
      expect(again.jti).not.toBe(verified.jti);
    }
  });

  it("refuses no header, two headers, and what is not a compact JWS", async () => {
    const key = await dpopKey();
    const proof = await key.proof("POST", URL_);
    expect(await refusal({ headers: [], method: "POST", url: URL_ })).toEqual({ error: "invalid_dpop_proof", reason: "missing" });
    expect((await refusal({ headers: [proof, proof], method: "POST", url: URL_ })).reason).toBe("several_headers");
    expect((await refusal({ headers: ["not.a-jws"], method: "POST", url: URL_ })).reason).toBe("malformed");
    expect((await refusal({ headers: [proof + "x\u0000"], method: "POST", url: URL_ })).reason).toBe("malformed");
  });

  it("refuses a wrong typ, alg none or a MAC, a missing or private jwk, and a signature by another key", async () => {
    const key = await dpopKey();
    const other = await dpopKey();
    expect((await refusal({ headers: [await key.proof("POST", URL_, { header: { typ: "JWT" } })], method: "POST", url: URL_ })).reason).toBe("typ");
    expect((await refusal({ headers: [await key.proof("POST", URL_, { header: { jwk: undefined } })], method: "POST", url: URL_ })).reason).toBe("jwk_missing");
    const privateJwk = { ...key.publicJwk, d: "AAAA" };
    expect((await refusal({ headers: [await key.proof("POST", URL_, { header: { jwk: privateJwk } })], method: "POST", url: URL_ })).reason).toBe("jwk_private");
    expect((await refusal({ headers: [await key.proof("POST", URL_, { signWith: other.privateKey })], method: "POST", url: URL_ })).reason).toBe("signature");
    // alg none / HS256: a header that claims them (the token part is hand-made; no library signs "none").
    const none = (alg: string) =>
      `${Buffer.from(JSON.stringify({ typ: "dpop+jwt", alg, jwk: key.publicJwk })).toString("base64url")}.${Buffer.from(JSON.stringify({ htm: "POST", htu: URL_, iat: Math.floor(Date.now() / 1000), jti: "x" })).toString("base64url")}.c2ln`;
    expect((await refusal({ headers: [none("none")], method: "POST", url: URL_ })).reason).toBe("alg");
    expect((await refusal({ headers: [none("HS256")], method: "POST", url: URL_ })).reason).toBe("alg");
  });

  it("checks htm and htu against the request (htu without query or fragment, normalised)", async () => {
    const key = await dpopKey();
    expect((await refusal({ headers: [await key.proof("GET", URL_)], method: "POST", url: URL_ })).reason).toBe("htm");
    expect((await refusal({ headers: [await key.proof("POST", "https://other.example.com/api/oauth/token")], method: "POST", url: URL_ })).reason).toBe("htu");
    expect((await refusal({ headers: [await key.proof("POST", URL_ + "x")], method: "POST", url: URL_ })).reason).toBe("htu");
    for (const htu of ["HTTPS://MCP.example.com:443/api/oauth/token", "https://mcp.example.com/api/oauth/./token?x=1#f", "https://mcp.example.com/api/%6Fauth/token"]) {
      await expect(verifyDpopProof({ headers: [await key.proof("POST", htu)], method: "POST", url: URL_ + "?q=2" })).resolves.toBeDefined();
    }
  });

  it("accepts iat from 300 s before to 60 s after now; older is stale, later is a clock problem", async () => {
    const key = await dpopKey();
    const now = Date.now();
    const at = (offset: number) => Math.floor(now / 1000) + offset;
    await expect(verifyDpopProof({ headers: [await key.proof("POST", URL_, { iat: at(-299) })], method: "POST", url: URL_, now })).resolves.toBeDefined();
    await expect(verifyDpopProof({ headers: [await key.proof("POST", URL_, { iat: at(59) })], method: "POST", url: URL_, now })).resolves.toBeDefined();
    expect((await refusal({ headers: [await key.proof("POST", URL_, { iat: at(-301) })], method: "POST", url: URL_, now })).reason).toBe("iat_stale");
    expect((await refusal({ headers: [await key.proof("POST", URL_, { iat: at(61) })], method: "POST", url: URL_, now })).reason).toBe("iat_future");
    expect((await refusal({ headers: [await key.proof("POST", URL_, { claims: { iat: "now" } })], method: "POST", url: URL_, now })).reason).toBe("iat");
    expect((await refusal({ headers: [await key.proof("POST", URL_, { claims: { jti: undefined } })], method: "POST", url: URL_ })).reason).toBe("jti");
  });

  it("at a resource, ath must be the hash of the presented access token (§7)", async () => {
    const key = await dpopKey();
    const token = "mcpat_example-token";
    await expect(verifyDpopProof({ headers: [await key.proof("POST", URL_, { accessToken: token })], method: "POST", url: URL_, accessToken: token })).resolves.toBeDefined();
    expect((await refusal({ headers: [await key.proof("POST", URL_)], method: "POST", url: URL_, accessToken: token })).reason).toBe("ath_missing");
    expect((await refusal({ headers: [await key.proof("POST", URL_, { accessToken: "mcpat_other" })], method: "POST", url: URL_, accessToken: token })).reason).toBe("ath");
  });

  it("a required nonce: missing or stale is use_dpop_nonce (§8); the current one passes", async () => {
    const nonces = new DpopNonces("a-secret-of-at-least-32-characters-long!!", 300);
    const key = await dpopKey();
    const request = (nonce?: string) => key.proof("POST", URL_, nonce ? { nonce } : {});
    const nonceValid = (n: string) => nonces.isValid(n);
    expect(await refusal({ headers: [await request()], method: "POST", url: URL_, nonceValid })).toEqual({ error: "use_dpop_nonce", reason: "nonce_missing" });
    expect((await refusal({ headers: [await request("1.AAAA")], method: "POST", url: URL_, nonceValid })).reason).toBe("nonce_stale");
    const verified = await verifyDpopProof({ headers: [await request(nonces.current())], method: "POST", url: URL_, nonceValid });
    expect(verified.nonce).toBe(nonces.current());
  });
});

describe("DPoP nonces (RFC 9449 §8-9): rotated by time window, valid on every node with the same secret", () => {
  it("accepts the current and the previous window's nonce, not older ones or another secret's", () => {
    const t0 = Date.UTC(2026, 11, 5, 12, 0, 0);
    const a = new DpopNonces("one-secret-of-at-least-32-characters!!", 300);
    const b = new DpopNonces("one-secret-of-at-least-32-characters!!", 300);
    const other = new DpopNonces("another-secret-of-at-least-32-chars!!!", 300);
    const nonce = a.current(t0);
    expect(b.isValid(nonce, t0)).toBe(true);
    expect(b.isValid(nonce, t0 + 300_000)).toBe(true);
    expect(b.isValid(nonce, t0 + 600_000)).toBe(false);
    expect(a.current(t0 + 300_000)).not.toBe(nonce);
    expect(other.isValid(nonce, t0)).toBe(false);
    expect(a.isValid(nonce.slice(0, -1) + (nonce.endsWith("A") ? "B" : "A"), t0)).toBe(false);
    expect(a.isValid("garbage", t0)).toBe(false);
  });
});

describe("htu normalisation, RFC 3986 §6.2.2-6.2.3", () => {
  it.each([
    ["HTTPS://Example.COM:443/a", "https://example.com/a"],
    ["http://example.com:80", "http://example.com/"],
    ["https://example.com/a/./b/../c?q#f", "https://example.com/a/c"],
    ["https://example.com/%7euser/%2f", "https://example.com/~user/%2F"],
  ])("%s → %s", (input, expected) => {
    expect(normaliseHtu(input)).toBe(expected);
  });

  it("does not make other schemes or non-URLs comparable", () => {
    expect(normaliseHtu("ftp://example.com/a")).not.toBe(normaliseHtu("https://example.com/a"));
    expect(normaliseHtu("not a url")).toMatch(/^invalid:/);
  });
});
