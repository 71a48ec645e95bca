import { describe, expect, it } from "vitest";
import { safeReturnTo } from "../../server/auth/return-to.ts";

/**
 * Open redirects (RFC 9700 §4.11, OWASP "Unvalidated Redirects and Forwards"): `/login?returnTo=` must only ever send
 * the browser to a path on this origin. Every value below was checked against how browsers resolve a `Location`.
 */
describe("safeReturnTo: same-origin paths only (RFC 9700 §4.11)", () => {
  it.each([
    ["/", "/"],
    ["/admin", "/admin"],
    ["/admin/clients?page=2", "/admin/clients?page=2"],
    ["/oauth/authorize?client_id=abc&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&state=x", "/oauth/authorize?client_id=abc&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&state=x"],
    ["/account#tokens", "/account#tokens"],
    ["/a/b/../c", "/a/c"],
    ["/%2F%2Fevil.com", "/%2F%2Fevil.com"],
    ["/%5Cevil.com", "/%5Cevil.com"],
    ["/search?q=//evil.com", "/search?q=//evil.com"],
    ["/caf\u00e9", "/caf%C3%A9"],
  ])("keeps %j (as %j)", (value, expected) => {
    expect(safeReturnTo(value)).toBe(expected);
  });

  it.each([
    // Absolute and scheme-relative URLs.
    "https://evil.com",
    "http://evil.com/admin",
    "HTTPS://evil.com",
    "//evil.com",
    "//evil.com/admin",
    "///evil.com",
    "////evil.com",
    // Backslashes: browsers treat `\` as `/` in special URLs.
    "/\\evil.com",
    "\\\\evil.com",
    "\\/evil.com",
    "/\\/evil.com",
    "/a\\..\\..\\/evil.com",
    // Other schemes.
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "mailto:a@evil.com",
    // Relative paths without a leading slash.
    "evil.com",
    "admin",
    "./admin",
    "../admin",
    "",
    // Control characters and whitespace that URL parsers strip (`/\t/evil.com` parses as `//evil.com`).
    "/\t/evil.com",
    "/\n/evil.com",
    "/\r/evil.com",
    "/\r\nSet-Cookie: a=b",
    "/\u0000/evil.com",
    "/\u001f/evil.com",
    "/\u007f/evil.com",
    "/\u0085/evil.com",
    "\t//evil.com",
    // Dot segments that normalise to `//host`.
    "/..//evil.com",
    "/.//evil.com",
    "/./..//evil.com",
    "/a/..//evil.com",
    "/a/b/../..//evil.com",
    "/%2e%2e//evil.com",
    "/%2E%2E//evil.com",
    "/%2e//evil.com",
    "/.%2e//evil.com",
    // Too long to be a real path (and a cheap denial of service otherwise).
    `/${"a".repeat(8192)}`,
  ])("refuses %j", (value) => {
    expect(safeReturnTo(value)).toBe("/");
  });

  it("refuses what is not a string", () => {
    for (const value of [null, undefined, 42, ["/admin"], { toString: () => "/admin" }, new URL("http://x/admin")]) {
      expect(safeReturnTo(value)).toBe("/");
    }
  });

  it("keeps a long authorization request (so sign-in comes back to consent)", () => {
    const authorize = `/oauth/authorize?client_id=${encodeURIComponent("https://client.example/" + "m".repeat(300))}&state=${"s".repeat(2000)}`;
    expect(safeReturnTo(authorize)).toBe(authorize);
  });

  it("uses the given fallback", () => {
    expect(safeReturnTo("//evil.com", "/account")).toBe("/account");
    expect(safeReturnTo(undefined, "/account")).toBe("/account");
  });

  it("never returns something a browser would resolve off-origin", () => {
    // Property check over generated values: whatever comes out, resolved as a Location, stays on our origin.
    const pieces = ["/", "//", "\\", ".", "..", "%2e", "%2f", "%5c", "evil.com", "@", ":", "?", "#", "\t", "http:", "a"];
    let checked = 0;
    for (const a of pieces) {
      for (const b of pieces) {
        for (const c of pieces) {
          const out = safeReturnTo(a + b + c);
          const resolved = new URL(out, "https://app.example");
          expect(resolved.origin, JSON.stringify(a + b + c)).toBe("https://app.example");
          expect(out.startsWith("/") && !out.startsWith("//")).toBe(true);
          checked += 1;
        }
      }
    }
    expect(checked).toBe(pieces.length ** 3);
  });
});
