import { describe, expect, it } from "vitest";
import { OAuthError } from "../../server/oauth/errors.ts";
import { CLIENT_METADATA_LIMITS, validateClientMetadata, validateClientName, validateGrantTypes } from "../../server/oauth/client-metadata.ts";
import { generateClientId, generateClientSecret, hashClientSecret, verifyClientSecret } from "../../server/oauth/client-secrets.ts";

function errorOf(fn: () => unknown): { error: string; description: string } {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(OAuthError);
    return { error: (error as OAuthError).error, description: (error as OAuthError).description };
  }
  throw new Error("expected an OAuthError");
}

const base = { redirect_uris: ["https://app.example.com/cb"] };

describe("Client metadata, RFC 7591 §2", () => {
  it("applies the RFC 7591 defaults (authorization_code, code, client_secret_basic, web, every scope)", () => {
    const input = validateClientMetadata(base);
    expect(input).toMatchObject({
      name: "Unnamed client",
      redirectUris: ["https://app.example.com/cb"],
      grantTypes: ["authorization_code"],
      responseTypes: ["code"],
      tokenEndpointAuthMethod: "client_secret_basic",
      applicationType: "web",
      scope: "mcp:tools mcp:admin",
      legacy: false,
    });
  });

  it("takes what an MCP client sends", () => {
    const input = validateClientMetadata({
      client_name: "MCP Inspector",
      redirect_uris: ["http://localhost:6274/oauth/callback"],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
      scope: "mcp:tools",
      client_uri: "https://github.com/modelcontextprotocol/inspector",
      software_id: "inspector",
      software_version: "0.17.0",
    });
    expect(input).toMatchObject({
      name: "MCP Inspector",
      grantTypes: ["authorization_code", "refresh_token"],
      tokenEndpointAuthMethod: "none",
      scope: "mcp:tools",
      clientUri: "https://github.com/modelcontextprotocol/inspector",
    });
    expect(input.metadata).toMatchObject({ software_id: "inspector", software_version: "0.17.0" });
  });

  it("accepts the original's { name, redirectUris } body as a public client with refresh tokens", () => {
    const input = validateClientMetadata({ name: "Test Client", redirectUris: ["http://localhost:8080/callback"] });
    expect(input).toMatchObject({
      legacy: true,
      name: "Test Client",
      redirectUris: ["http://localhost:8080/callback"],
      tokenEndpointAuthMethod: "none",
      grantTypes: ["authorization_code", "refresh_token"],
    });
  });

  it.each([
    [null, "invalid_client_metadata"],
    [[], "invalid_client_metadata"],
    ["text", "invalid_client_metadata"],
    [{}, "invalid_redirect_uri"],
    [{ redirect_uris: [] }, "invalid_redirect_uri"],
    [{ redirect_uris: ["javascript:alert(1)"] }, "invalid_redirect_uri"],
    [{ redirect_uris: ["http://evil.example.com/cb"] }, "invalid_redirect_uri"],
    [{ ...base, grant_types: ["client_credentials"] }, "invalid_client_metadata"],
    [{ ...base, grant_types: ["implicit", "authorization_code"] }, "invalid_client_metadata"],
    [{ ...base, grant_types: ["refresh_token"] }, "invalid_client_metadata"],
    [{ ...base, grant_types: "authorization_code" }, "invalid_client_metadata"],
    [{ ...base, response_types: ["token"] }, "invalid_client_metadata"],
    [{ ...base, response_types: ["code", "id_token"] }, "invalid_client_metadata"],
    [{ ...base, token_endpoint_auth_method: "private_key_jwt" }, "invalid_client_metadata"],
    [{ ...base, token_endpoint_auth_method: "client_secret_jwt" }, "invalid_client_metadata"],
    [{ ...base, application_type: "desktop" }, "invalid_client_metadata"],
    [{ ...base, client_name: 42 }, "invalid_client_metadata"],
    [{ ...base, client_name: "x".repeat(CLIENT_METADATA_LIMITS.nameLength + 1) }, "invalid_client_metadata"],
    [{ ...base, client_name: "Evil\u0000Name" }, "invalid_client_metadata"],
    [{ ...base, client_uri: "javascript:alert(1)" }, "invalid_client_metadata"],
    [{ ...base, logo_uri: "not a url" }, "invalid_client_metadata"],
    [{ ...base, scope: ["mcp:tools"] }, "invalid_client_metadata"],
    [{ ...base, contacts: "a@b.c" }, "invalid_client_metadata"],
    [{ ...base, contacts: Array.from({ length: 11 }, () => "a@b.c") }, "invalid_client_metadata"],
    [{ name: "x", redirectUris: ["javascript:alert(1)"] }, "invalid_redirect_uri"],
  ])("refuses %j with %s (RFC 7591 §3.2.2)", (body, code) => {
    expect(errorOf(() => validateClientMetadata(body)).error).toBe(code);
  });

  it("application_type: native inferred for loopback and private-use redirects; web refused with a private-use one (OIDC Registration §2, MCP 2026-07-28)", () => {
    expect(validateClientMetadata({ redirect_uris: ["http://127.0.0.1:3000/cb"] }).applicationType).toBe("native");
    expect(validateClientMetadata({ redirect_uris: ["cursor://anysphere.cursor-mcp/cb", "http://localhost/cb"] }).applicationType).toBe("native");
    expect(validateClientMetadata({ redirect_uris: ["https://app.example.com/cb", "http://localhost/cb"] }).applicationType).toBe("web");
    expect(validateClientMetadata({ redirect_uris: ["http://127.0.0.1/cb"], application_type: "web" }).applicationType).toBe("web");
    expect(validateClientMetadata({ redirect_uris: ["https://app.example.com/cb"], application_type: "native" }).applicationType).toBe("native");
    expect(validateClientMetadata({ redirect_uris: ["http://127.0.0.1/cb"] }).metadata.application_type).toBe("native");
    expect(errorOf(() => validateClientMetadata({ redirect_uris: ["com.example.app:/cb"], application_type: "web" })).error).toBe("invalid_redirect_uri");
  });

  it("trims names and keeps unicode", () => {
    expect(validateClientName("  Claude Desktop  ")).toBe("Claude Desktop");
    expect(validateClientName("Café ☕")).toBe("Café ☕");
    expect(validateClientName("")).toBe("Unnamed client");
  });

  it("grant types default to authorization_code and come back in canonical order", () => {
    expect(validateGrantTypes(undefined)).toEqual(["authorization_code"]);
    expect(validateGrantTypes(["refresh_token", "authorization_code"])).toEqual(["authorization_code", "refresh_token"]);
  });
});

describe("Client identifiers and secrets, RFC 9700 §4.14 (hashed at rest, constant-time compare)", () => {
  it("issues prefixed random identifiers and secrets", () => {
    const ids = new Set(Array.from({ length: 100 }, () => generateClientId()));
    expect(ids.size).toBe(100);
    for (const id of ids) expect(id).toMatch(/^mcpc_[A-Za-z0-9_-]{22}$/);
    const { secret, hash } = generateClientSecret();
    expect(secret).toMatch(/^mcpcs_[A-Za-z0-9_-]{43}$/);
    expect(hash).toBe(hashClientSecret(secret));
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hash).not.toContain(secret);
  });

  it("verifies only the right secret", () => {
    const { secret, hash } = generateClientSecret();
    expect(verifyClientSecret(secret, hash)).toBe(true);
    expect(verifyClientSecret(secret + "x", hash)).toBe(false);
    expect(verifyClientSecret(hash, hash)).toBe(false);
    expect(verifyClientSecret(secret, null)).toBe(false);
  });
});
