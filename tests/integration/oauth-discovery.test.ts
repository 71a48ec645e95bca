/**
 * Checklist "Discovery": RFC 8414 metadata (and the OpenID alias), RFC 9728 protected resource metadata at the root
 * and path-inserted, CORS on every .well-known document, and the MCP endpoints' 401/403 pointing at that metadata.
 */
import { OAuthMetadataSchema, OAuthProtectedResourceMetadataSchema } from "@modelcontextprotocol/sdk/shared/auth.js";
import { beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { obtainCode, publicClient, register, REDIRECT, signIn, tokenRequest } from "./oauth-support.ts";

let server: TestServer;
let app: string;

beforeAll(async () => {
  server = await startTestServer({ RATE_LIMIT_ENABLED: "false", ADMIN_EMAILS: "root@example.com" });
  app = server.env.APP_URL;
});

describe("Authorization Server Metadata, RFC 8414 §2-§3", () => {
  it.each(["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"])("GET %s", async (path) => {
    const res = await fetch(server.url + path);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const metadata = await res.json();
    expect(OAuthMetadataSchema.safeParse(metadata).success).toBe(true);
    expect(metadata).toMatchObject({
      issuer: app,
      authorization_endpoint: `${app}/oauth/authorize`,
      token_endpoint: `${app}/api/oauth/token`,
      registration_endpoint: `${app}/api/oauth/register`,
      revocation_endpoint: `${app}/api/oauth/revoke`,
      introspection_endpoint: `${app}/api/oauth/introspect`,
      response_types_supported: ["code"],
      // client_credentials and the ID-JAG jwt-bearer grant for admin-created clients (MCP auth extensions).
      grant_types_supported: ["authorization_code", "refresh_token", "client_credentials", "urn:ietf:params:oauth:grant-type:jwt-bearer"],
      code_challenge_methods_supported: ["S256"],
      token_endpoint_auth_methods_supported: ["none", "client_secret_basic", "client_secret_post", "private_key_jwt"],
      token_endpoint_auth_signing_alg_values_supported: ["RS256", "PS256", "ES256", "EdDSA"],
      authorization_grant_profiles_supported: ["urn:ietf:params:oauth:grant-profile:id-jag"],
      scopes_supported: ["mcp:tools", "mcp:tools:read", "mcp:tools:write", "mcp:admin"],
      authorization_response_iss_parameter_supported: true,
      client_id_metadata_document_supported: true,
    });
    expect(metadata.code_challenge_methods_supported).not.toContain("plain");
    // MCP 2026-07-28 Authorization §"Refresh Tokens": offline_access is not a resource requirement, not advertised.
    expect(metadata.scopes_supported).not.toContain("offline_access");
  });

  it("the OpenID alias serves the same document", async () => {
    const a = await (await fetch(`${server.url}/.well-known/oauth-authorization-server`)).json();
    const b = await (await fetch(`${server.url}/.well-known/openid-configuration`)).json();
    expect(b).toEqual(a);
  });

  it("the issuer is APP_URL even when the request's Host differs (RFC 8414 §3.3)", async () => {
    const res = await fetch(`${server.url}/.well-known/oauth-authorization-server`, { headers: { host: "evil.example.com" } });
    expect((await res.json()).issuer).toBe(app);
  });
});

describe("Protected Resource Metadata, RFC 9728 §3 (resource equals the URL described)", () => {
  it.each([
    ["", ""],
    ["/mcp", "/mcp"],
    ["/mcp/mcp", "/mcp/mcp"],
    ["/mcp/sse", "/mcp/sse"],
  ])("GET /.well-known/oauth-protected-resource%s", async (suffix, resourcePath) => {
    const res = await fetch(`${server.url}/.well-known/oauth-protected-resource${suffix}`);
    expect(res.status).toBe(200);
    const metadata = await res.json();
    expect(OAuthProtectedResourceMetadataSchema.safeParse(metadata).success).toBe(true);
    expect(metadata.resource).toBe(app + resourcePath);
    expect(metadata).toMatchObject({
      authorization_servers: [app],
      scopes_supported: ["mcp:tools", "mcp:tools:read", "mcp:tools:write", "mcp:admin"],
      bearer_methods_supported: ["header"],
    });
  });

  it.each(["/mcp/mcp/", "/mcp/other", "/api/oauth/token", "/MCP/MCP"])("404 for /.well-known/oauth-protected-resource%s (no trailing slash added, no guessing)", async (suffix) => {
    const res = await fetch(`${server.url}/.well-known/oauth-protected-resource${suffix}`);
    expect(res.status).toBe(404);
  });
});

describe("CORS on .well-known documents (MCP 2025-11-25 Authorization: browser-based clients)", () => {
  it.each([
    "/.well-known/oauth-authorization-server",
    "/.well-known/openid-configuration",
    "/.well-known/oauth-protected-resource",
    "/.well-known/oauth-protected-resource/mcp/mcp",
  ])("GET and OPTIONS preflight on %s", async (path) => {
    const get = await fetch(server.url + path, { headers: { origin: "https://inspector.example" } });
    expect(get.status).toBe(200);
    expect(get.headers.get("access-control-allow-origin")).toBeTruthy();
    const preflight = await fetch(server.url + path, {
      method: "OPTIONS",
      headers: { origin: "https://inspector.example", "access-control-request-method": "GET", "access-control-request-headers": "mcp-protocol-version" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBeTruthy();
    expect(preflight.headers.get("access-control-allow-methods")).toMatch(/GET/);
  });
});

describe("MCP endpoints point unauthenticated clients at the metadata, RFC 9728 §5.1 / RFC 6750 §3", () => {
  it.each(["/mcp/mcp", "/mcp/sse"])("POST %s without a token: 401 with resource_metadata that resolves to a document for that URL", async (path) => {
    const res = await fetch(server.url + path, {
      method: path.endsWith("sse") ? "GET" : "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: path.endsWith("sse") ? undefined : JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    });
    expect(res.status).toBe(401);
    const header = res.headers.get("www-authenticate") ?? "";
    expect(header).toMatch(/^Bearer /);
    expect(header).not.toMatch(/error=/);
    const metadataUrl = /resource_metadata="([^"]+)"/.exec(header)?.[1];
    expect(metadataUrl).toBeTruthy();
    const metadata = await (await fetch(metadataUrl!.replace(app, server.url))).json();
    expect(metadata.resource).toBe(app + path);
  });

  it("a bad token gets 401 error=\"invalid_token\"", async () => {
    const res = await fetch(`${server.url}/mcp/mcp`, {
      method: "POST",
      headers: { authorization: "Bearer mcpat_not-a-real-token", "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(/error="invalid_token"/);
  });

  it("a token without mcp:tools gets 403 error=\"insufficient_scope\" with a scope hint", async () => {
    const client = await register(server.url, publicClient());
    const jar = await signIn(server.url, "root@example.com");
    const { code, verifier } = await obtainCode(server.url, jar, client.client_id, { scope: "mcp:admin" });
    const tokens = await tokenRequest(server.url, { grant_type: "authorization_code", code, code_verifier: verifier, client_id: client.client_id, redirect_uri: REDIRECT });
    expect(tokens.body.scope).toBe("mcp:admin");
    const res = await fetch(`${server.url}/mcp/mcp`, {
      method: "POST",
      headers: { authorization: `Bearer ${tokens.body.access_token}`, "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    });
    expect(res.status).toBe(403);
    expect(res.headers.get("www-authenticate")).toMatch(/error="insufficient_scope"/);
    expect(res.headers.get("www-authenticate")).toMatch(/scope="[^"]*mcp:tools/);
  });
});
