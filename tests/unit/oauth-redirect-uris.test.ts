import { describe, expect, it } from "vitest";
import { OAuthError } from "../../server/oauth/errors.ts";
import {
  REDIRECT_URI_LIMITS,
  checkRedirectUri,
  findRedirectUri,
  isLoopbackHost,
  redirectUriMatches,
  validateRedirectUris,
} from "../../server/oauth/redirect-uris.ts";

describe("Redirect URI registration, RFC 7591 §2 / OAuth 2.1 §2.3.1 / RFC 8252 §7", () => {
  it.each([
    ["https://app.example.com/callback", "https"],
    ["https://app.example.com:8443/cb?tenant=1", "https"],
    ["http://127.0.0.1/callback", "loopback"],
    ["http://127.0.0.1:33418/callback", "loopback"],
    ["http://[::1]:8080/cb", "loopback"],
    ["http://localhost:6274/oauth/callback", "loopback"],
    ["com.example.app:/oauth2redirect", "private-use"],
    ["cursor://anysphere.cursor-mcp/oauth/callback", "private-use"],
    ["vscode://vscode.github-authentication/did-authenticate", "private-use"],
  ])("accepts %s (%s)", (uri, kind) => {
    expect(checkRedirectUri(uri)).toEqual({ ok: true, kind });
  });

  it.each([
    ["http://app.example.com/callback", "http: is allowed only for loopback"],
    ["http://10.0.0.5/callback", "http: is allowed only for loopback"],
    ["http://127.0.0.2/cb", "http: is allowed only for loopback"],
    ["http://localhost.evil.com/cb", "http: is allowed only for loopback"],
    ["https://app.example.com/cb#fragment", "fragment"],
    ["https://app.example.com/cb#", "fragment"],
    ["https://*.example.com/cb", "wildcards"],
    ["https://app.example.com/*", "wildcards"],
    ["javascript:alert(1)", "javascript"],
    ["JavaScript://%0aalert(1)", "javascript"],
    ["data:text/html,<script>alert(1)</script>", "data"],
    ["vbscript:msgbox", "vbscript"],
    ["file:///etc/passwd", "file"],
    ["blob:https://app.example.com/uuid", "blob"],
    ["about:blank", "about"],
    ["wss://app.example.com/cb", "wss"],
    ["https://user:pass@app.example.com/cb", "user information"],
    ["/relative/callback", "absolute"],
    ["app.example.com/callback", "absolute"],
    ["https:// app.example.com/cb", "spaces"],
    ["https://app.example.com/c\tb", "control"],
    ["https://app.example.com\\@evil.com/", "backslashes"],
    ["", "non-empty"],
  ])("refuses %s", (uri, problem) => {
    const check = checkRedirectUri(uri);
    expect(check.ok).toBe(false);
    if (!check.ok) expect(check.problem).toContain(problem);
  });

  it("refuses values that are not strings and overlong URIs", () => {
    expect(checkRedirectUri(42).ok).toBe(false);
    expect(checkRedirectUri(null).ok).toBe(false);
    expect(checkRedirectUri(`https://example.com/${"a".repeat(REDIRECT_URI_LIMITS.maxLength)}`).ok).toBe(false);
  });

  it("validateRedirectUris: a non-empty array, bounded, deduplicated; errors are invalid_redirect_uri (RFC 7591 §3.2.2)", () => {
    expect(validateRedirectUris(["https://a.example/cb", "https://a.example/cb", "http://localhost/cb"])).toEqual([
      "https://a.example/cb",
      "http://localhost/cb",
    ]);
    for (const bad of [undefined, [], "https://a.example/cb", [1], ["javascript:alert(1)"]]) {
      try {
        validateRedirectUris(bad);
        expect.unreachable();
      } catch (error) {
        expect(error).toBeInstanceOf(OAuthError);
        expect((error as OAuthError).error).toBe("invalid_redirect_uri");
      }
    }
    const many = Array.from({ length: REDIRECT_URI_LIMITS.maxCount + 1 }, (_, i) => `https://a.example/${i}`);
    expect(() => validateRedirectUris(many)).toThrow(/at most/);
  });

  it("knows the loopback hosts of RFC 8252 §7.3 and §8.3", () => {
    expect(isLoopbackHost("127.0.0.1")).toBe(true);
    expect(isLoopbackHost("[::1]")).toBe(true);
    expect(isLoopbackHost("localhost")).toBe(true);
    expect(isLoopbackHost("LOCALHOST")).toBe(true);
    expect(isLoopbackHost("127.1")).toBe(false);
    expect(isLoopbackHost("0.0.0.0")).toBe(false);
  });
});

describe("Redirect URI matching, OAuth 2.1 §4.1.1 (exact) and RFC 8252 §7.3 (loopback, any port)", () => {
  it("matches the exact registered string", () => {
    expect(redirectUriMatches("https://app.example.com/cb", "https://app.example.com/cb")).toBe(true);
    expect(redirectUriMatches("com.example.app:/cb", "com.example.app:/cb")).toBe(true);
  });

  it.each([
    ["https://app.example.com/cb", "https://app.example.com/cb/"],
    ["https://app.example.com/cb", "https://app.example.com/CB"],
    ["https://app.example.com/cb", "https://APP.example.com/cb"],
    ["https://app.example.com/cb", "https://app.example.com:443/cb"],
    ["https://app.example.com/cb", "https://app.example.com/cb?x=1"],
    ["https://app.example.com/cb", "https://app.example.com/cb/../cb"],
    ["https://app.example.com/cb", "https://app.example.com.evil.com/cb"],
    ["https://app.example.com/cb", "https://app.example.com:8443/cb"],
    ["https://app.example.com/cb", "http://app.example.com/cb"],
    ["com.example.app:/cb", "com.example.app:/cb2"],
  ])("does not match %s with %s (no normalisation, no prefix match)", (registered, presented) => {
    expect(redirectUriMatches(registered, presented)).toBe(false);
  });

  it.each([
    ["http://127.0.0.1/callback", "http://127.0.0.1:51004/callback"],
    ["http://127.0.0.1:8080/callback", "http://127.0.0.1:9999/callback"],
    ["http://[::1]/cb", "http://[::1]:61000/cb"],
    ["http://localhost:6274/oauth/callback", "http://localhost:40123/oauth/callback"],
    ["http://127.0.0.1:1/cb?x=1", "http://127.0.0.1:2/cb?x=1"],
  ])("matches loopback %s on any port: %s", (registered, presented) => {
    expect(redirectUriMatches(registered, presented)).toBe(true);
  });

  it.each([
    ["http://127.0.0.1/callback", "http://localhost:5000/callback"],
    ["http://localhost/callback", "http://127.0.0.1:5000/callback"],
    ["http://127.0.0.1/callback", "http://127.0.0.1:5000/other"],
    ["http://127.0.0.1/callback", "http://127.0.0.1:5000/callback?x=1"],
    ["http://127.0.0.1/callback", "https://127.0.0.1:5000/callback"],
    ["http://127.0.0.1/callback", "http://127.0.0.1:99999/callback"],
    ["http://127.0.0.1/callback", "http://127.0.0.1:5000/callback#x"],
    ["https://localhost/callback", "https://localhost:5000/callback"],
  ])("loopback matching still checks scheme, host, path and query: %s vs %s", (registered, presented) => {
    expect(redirectUriMatches(registered, presented)).toBe(false);
  });

  it("findRedirectUri returns the registered entry that matches", () => {
    const registered = ["https://a.example/cb", "http://127.0.0.1/cb"];
    expect(findRedirectUri(registered, "http://127.0.0.1:4444/cb")).toBe("http://127.0.0.1/cb");
    expect(findRedirectUri(registered, "https://a.example/cb")).toBe("https://a.example/cb");
    expect(findRedirectUri(registered, "https://b.example/cb")).toBeUndefined();
  });
});
