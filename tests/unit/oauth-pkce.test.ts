import { createHash, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { OAuthError } from "../../server/oauth/errors.ts";
import { CODE_VERIFIER, checkCodeChallenge, s256, verifyCodeVerifier } from "../../server/oauth/pkce.ts";

describe("PKCE, RFC 7636 §4.2 (S256 transformation)", () => {
  it("matches the RFC 7636 Appendix B example", () => {
    expect(s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")).toBe("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
  });

  it("equals BASE64URL(SHA-256(verifier)) without padding for random verifiers", () => {
    for (let i = 0; i < 50; i++) {
      const verifier = randomBytes(32 + (i % 64)).toString("base64url").slice(0, 43 + (i % 86));
      const expected = createHash("sha256").update(verifier).digest("base64").replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
      expect(s256(verifier)).toBe(expected);
      expect(s256(verifier)).toHaveLength(43);
    }
  });
});

describe("PKCE, RFC 7636 §4.1 (code_verifier syntax)", () => {
  it("accepts 43 to 128 unreserved characters", () => {
    expect(CODE_VERIFIER.test("a".repeat(43))).toBe(true);
    expect(CODE_VERIFIER.test("a".repeat(128))).toBe(true);
    expect(CODE_VERIFIER.test("AZaz09-._~".repeat(5))).toBe(true);
  });

  it("refuses too short, too long and reserved characters", () => {
    expect(CODE_VERIFIER.test("a".repeat(42))).toBe(false);
    expect(CODE_VERIFIER.test("a".repeat(129))).toBe(false);
    expect(CODE_VERIFIER.test("a".repeat(42) + "+")).toBe(false);
    expect(CODE_VERIFIER.test("a".repeat(42) + "/")).toBe(false);
    expect(CODE_VERIFIER.test("a".repeat(42) + "=")).toBe(false);
    expect(CODE_VERIFIER.test("a".repeat(42) + " ")).toBe(false);
  });
});

describe("PKCE, RFC 7636 §4.3 / OAuth 2.1 §4.1.1 (authorization request: S256 required)", () => {
  const challenge = s256(randomBytes(32).toString("base64url"));

  function code(fn: () => void): string {
    try {
      fn();
    } catch (error) {
      expect(error).toBeInstanceOf(OAuthError);
      return (error as OAuthError).error + ": " + (error as OAuthError).description;
    }
    return "ok";
  }

  it("accepts an S256 challenge", () => {
    expect(code(() => checkCodeChallenge(challenge, "S256"))).toBe("ok");
  });

  it("refuses a missing challenge", () => {
    expect(code(() => checkCodeChallenge(undefined, "S256"))).toMatch(/^invalid_request: code_challenge is required/);
  });

  it("refuses plain and a missing method (which means plain, RFC 7636 §4.3)", () => {
    expect(code(() => checkCodeChallenge(challenge, "plain"))).toMatch(/^invalid_request: code_challenge_method must be S256/);
    expect(code(() => checkCodeChallenge(challenge, undefined))).toMatch(/^invalid_request: code_challenge_method is required/);
    expect(code(() => checkCodeChallenge(challenge, "s256"))).toMatch(/^invalid_request/);
  });

  it("refuses a challenge that cannot be an S256 value", () => {
    expect(code(() => checkCodeChallenge("short", "S256"))).toMatch(/^invalid_request/);
    expect(code(() => checkCodeChallenge(challenge + "A", "S256"))).toMatch(/^invalid_request/);
    expect(code(() => checkCodeChallenge(challenge.slice(0, 42) + "=", "S256"))).toMatch(/^invalid_request/);
  });
});

describe("PKCE, RFC 7636 §4.6 (server verifies the code_verifier)", () => {
  it("verifies the matching verifier", () => {
    const verifier = randomBytes(32).toString("base64url");
    expect(verifyCodeVerifier(verifier, s256(verifier))).toBe(true);
  });

  it("refuses another verifier, the challenge itself, and a malformed verifier", () => {
    const verifier = randomBytes(32).toString("base64url");
    const challenge = s256(verifier);
    expect(verifyCodeVerifier(randomBytes(32).toString("base64url"), challenge)).toBe(false);
    expect(verifyCodeVerifier(challenge, challenge)).toBe(false);
    expect(verifyCodeVerifier(verifier.slice(0, 42), s256(verifier.slice(0, 42)))).toBe(false);
    expect(verifyCodeVerifier(verifier + "/", s256(verifier + "/"))).toBe(false);
  });

  it("refuses a verifier that differs in one character", () => {
    const verifier = "a".repeat(43);
    expect(verifyCodeVerifier("a".repeat(42) + "b", s256(verifier))).toBe(false);
  });
});
