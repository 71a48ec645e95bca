import { describe, expect, it } from "vitest";
import { basicChallenge, bearerChallenge } from "../../server/oauth/challenges.ts";

describe("WWW-Authenticate challenges, RFC 6750 §3 and RFC 9728 §5.1", () => {
  it("a request without credentials gets no error code, only where to look (RFC 6750 §3.1, RFC 9728 §5.1)", () => {
    expect(bearerChallenge({ scope: "mcp:tools:read", resourceMetadata: "https://as.example/.well-known/oauth-protected-resource/mcp/mcp" })).toBe(
      'Bearer scope="mcp:tools:read", resource_metadata="https://as.example/.well-known/oauth-protected-resource/mcp/mcp"',
    );
    expect(bearerChallenge({ realm: "metrics" })).toBe('Bearer realm="metrics"');
  });

  it("names the error and its description, in a fixed order", () => {
    expect(bearerChallenge({ realm: "r", error: "insufficient_scope", description: "more please", scope: "mcp:admin" })).toBe(
      'Bearer realm="r", error="insufficient_scope", error_description="more please", scope="mcp:admin"',
    );
  });

  it("the DPoP scheme names the accepted proof algorithms (RFC 9449 §7.1)", () => {
    expect(bearerChallenge({ error: "invalid_token", description: "bad", algs: ["ES256", "EdDSA"] }, "DPoP")).toBe(
      'DPoP error="invalid_token", error_description="bad", algs="ES256 EdDSA"',
    );
  });

  it("never lets a value end its quoted string early", () => {
    const header = bearerChallenge({ realm: 'a"b\\c', error: "invalid_token", description: 'say "hi" \\ §3' });
    expect(header).toBe('Bearer realm="abc", error="invalid_token", error_description="say ?hi? ? section 3"');
  });

  it("Basic for a failed HTTP Basic client authentication (RFC 6749 §5.2)", () => {
    expect(basicChallenge("https://as.example")).toBe('Basic realm="https://as.example", charset="UTF-8"');
  });
});
