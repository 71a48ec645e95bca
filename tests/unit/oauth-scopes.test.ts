import { describe, expect, it } from "vitest";
import { OAuthError } from "../../server/oauth/errors.ts";
import {
  DEFAULT_SCOPES,
  SUPPORTED_SCOPES,
  clientScopeFromMetadata,
  decideScopes,
  formatScope,
  missingScopes,
  parseScope,
  scopeCovers,
  scopesCover,
} from "../../server/oauth/scopes.ts";

function scopeError(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(OAuthError);
    return (error as OAuthError).error;
  }
  return "none";
}

describe("Scope syntax, RFC 6749 §3.3", () => {
  it("splits on spaces, drops duplicates and empty tokens", () => {
    expect(parseScope("mcp:tools  mcp:admin mcp:tools")).toEqual(["mcp:tools", "mcp:admin"]);
    expect(parseScope("")).toEqual([]);
    expect(parseScope(undefined)).toEqual([]);
    expect(parseScope(null)).toEqual([]);
  });

  it.each(['mcp:tools "x"', "mcp:tools\\x", "mcp:tools\tmcp:admin", "é", "a\u0000b"])("refuses the malformed value %j", (value) => {
    expect(scopeError(() => parseScope(value))).toBe("invalid_scope");
  });

  it("formats in canonical order and drops unknown values", () => {
    expect(formatScope(["mcp:admin", "mcp:tools", "other"])).toBe("mcp:tools mcp:admin");
  });

  it("publishes mcp:tools (default, covering mcp:tools:read and mcp:tools:write) and mcp:admin", () => {
    expect(SUPPORTED_SCOPES).toEqual(["mcp:tools", "mcp:tools:read", "mcp:tools:write", "mcp:admin"]);
    expect(DEFAULT_SCOPES).toEqual(["mcp:tools"]);
  });
});

describe("Client scope at registration, RFC 7591 §2 (scope) and §3.2.1 (server may replace metadata)", () => {
  it("keeps the supported scopes named, drops unknown ones, and defaults to every supported scope", () => {
    expect(clientScopeFromMetadata("mcp:tools")).toBe("mcp:tools");
    expect(clientScopeFromMetadata("openid mcp:admin profile")).toBe("mcp:admin");
    expect(clientScopeFromMetadata("claudeai")).toBe("mcp:tools mcp:admin");
    expect(clientScopeFromMetadata(undefined)).toBe("mcp:tools mcp:admin");
  });

  it("refuses a scope that is not a string", () => {
    expect(scopeError(() => clientScopeFromMetadata(["mcp:tools"]))).toBe("invalid_client_metadata");
  });
});

describe("Scope decision at authorization, RFC 6749 §3.3 (default, ignore unknown, admin only for admins)", () => {
  const all = "mcp:tools mcp:admin";

  it("gives the default scope when none is requested", () => {
    expect(decideScopes({ requested: undefined, clientScope: all, isAdmin: false })).toEqual({ scopes: ["mcp:tools"], ignored: [] });
    expect(decideScopes({ requested: "", clientScope: all, isAdmin: true })).toEqual({ scopes: ["mcp:tools"], ignored: [] });
  });

  it("ignores unknown scopes (and falls back to the default when nothing known is left)", () => {
    expect(decideScopes({ requested: "openid mcp:tools", clientScope: all, isAdmin: false })).toEqual({ scopes: ["mcp:tools"], ignored: ["openid"] });
    expect(decideScopes({ requested: "offline_access", clientScope: all, isAdmin: false })).toEqual({ scopes: ["mcp:tools"], ignored: ["offline_access"] });
  });

  it("grants mcp:admin to an administrator", () => {
    expect(decideScopes({ requested: all, clientScope: all, isAdmin: true }).scopes).toEqual(["mcp:tools", "mcp:admin"]);
  });

  it("drops mcp:admin for a non-administrator", () => {
    expect(decideScopes({ requested: all, clientScope: all, isAdmin: false })).toEqual({ scopes: ["mcp:tools"], ignored: ["mcp:admin"] });
  });

  it("is invalid_scope when a non-administrator asks only for mcp:admin", () => {
    expect(scopeError(() => decideScopes({ requested: "mcp:admin", clientScope: all, isAdmin: false }))).toBe("invalid_scope");
  });

  it("is invalid_scope for a supported scope the client did not register", () => {
    expect(scopeError(() => decideScopes({ requested: "mcp:admin", clientScope: "mcp:tools", isAdmin: true }))).toBe("invalid_scope");
    expect(scopeError(() => decideScopes({ requested: undefined, clientScope: "mcp:admin", isAdmin: true }))).toBe("invalid_scope");
  });

  it("scopesCover is set inclusion", () => {
    expect(scopesCover(["mcp:tools", "mcp:admin"], ["mcp:tools"])).toBe(true);
    expect(scopesCover(["mcp:tools"], ["mcp:tools", "mcp:admin"])).toBe(false);
    expect(scopesCover([], [])).toBe(true);
  });

  it("scope hierarchy: a broader scope covers narrower ones (MCP 2026-07-28 Authorization, step-up)", () => {
    expect(scopeCovers("mcp:tools", "mcp:tools")).toBe(true);
    expect(scopeCovers("mcp:tools", "mcp:tools:read")).toBe(true);
    expect(scopeCovers("mcp", "mcp:admin")).toBe(true);
    expect(scopeCovers("mcp:tools", "mcp:toolsmith")).toBe(false);
    expect(scopeCovers("mcp:tools", "mcp:admin")).toBe(false);
    expect(scopeCovers("mcp:tools:read", "mcp:tools")).toBe(false);
    expect(missingScopes(["mcp:tools"], ["mcp:tools:write", "mcp:admin"])).toEqual(["mcp:admin"]);
    expect(scopesCover(["mcp:tools"], ["mcp:tools:read"])).toBe(true);
  });
});
