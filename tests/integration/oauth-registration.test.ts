/**
 * Checklist "Registration": RFC 7591 dynamic registration (and the original's body), redirect URI rules, public vs
 * confidential clients (secret shown once, stored hashed), size limits, the sweep of unused registrations, and
 * Client ID Metadata Documents (fetched under the real SSRF guard; only the internet behind it is simulated).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { sha256Hex } from "../../server/crypto.ts";
import { internet } from "../helpers/internet.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import {
  authorizeThroughConsent,
  authorizeUrl,
  basic,
  browse,
  CookieJar,
  pkce,
  publicClient,
  register,
  REDIRECT,
  signIn,
  tokenRequest,
} from "./oauth-support.ts";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ RATE_LIMIT_ENABLED: "false", UNUSED_CLIENT_RETENTION_HOURS: "1" });
});

async function post(body: unknown, contentType = "application/json") {
  const res = await fetch(`${server.url}/api/oauth/register`, {
    method: "POST",
    headers: { "content-type": contentType },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: (() => { try { return JSON.parse(text); } catch { return null; } })() };
}

describe("Dynamic Client Registration, RFC 7591 §3.1-§3.2.1", () => {
  it("registers a public client (token_endpoint_auth_method none): 201, metadata, no secret", async () => {
    const events: unknown[] = [];
    const off = server.services.events.on("oauth.client.registered", (e) => events.push(e));
    const res = await post(publicClient({ scope: "mcp:tools", client_uri: "https://example.com/app" }));
    off();
    expect(res.status).toBe(201);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.json).toMatchObject({
      client_id: expect.stringMatching(/^mcpc_/),
      client_name: "Test Client",
      redirect_uris: [REDIRECT],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
      scope: "mcp:tools",
      client_id_issued_at: expect.any(Number),
    });
    expect(res.json.client_secret).toBeUndefined();
    expect(events).toEqual([expect.objectContaining({ kind: "dynamic" })]);
  });

  it("a confidential client gets its secret once; only its SHA-256 digest is stored", async () => {
    const res = await post({ redirect_uris: ["https://app.example.com/cb"], token_endpoint_auth_method: "client_secret_post" });
    expect(res.status).toBe(201);
    expect(res.json.client_secret).toMatch(/^mcpcs_/);
    expect(res.json.client_secret_expires_at).toBe(0);
    const row = await server.services.prisma.client.findUniqueOrThrow({ where: { clientId: res.json.client_id } });
    expect(row.clientSecretHash).toBe(sha256Hex(res.json.client_secret));
    expect(JSON.stringify(row)).not.toContain(res.json.client_secret);
  });

  it("defaults to client_secret_basic when token_endpoint_auth_method is omitted (RFC 7591 §2)", async () => {
    const res = await post({ redirect_uris: ["https://app.example.com/cb"] });
    expect(res.json).toMatchObject({ token_endpoint_auth_method: "client_secret_basic", grant_types: ["authorization_code"] });
    expect(res.json.client_secret).toMatch(/^mcpcs_/);
  });

  it("accepts the original's { name, redirectUris } body", async () => {
    const res = await post({ name: "Test Client", redirectUris: ["http://localhost:8080/callback"] });
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({
      client_id: expect.stringMatching(/^mcpc_/),
      clientId: res.json.client_id,
      name: "Test Client",
      redirectUris: ["http://localhost:8080/callback"],
      token_endpoint_auth_method: "none",
    });
  });

  it.each([
    ["com.example.app:/oauth2redirect"],
    ["http://127.0.0.1/callback"],
    ["http://[::1]:3000/cb"],
    ["http://localhost:6274/oauth/callback"],
    ["https://app.example.com/cb?tenant=a"],
  ])("accepts the redirect URI %s", async (uri) => {
    expect((await post(publicClient({ redirect_uris: [uri] }))).status).toBe(201);
  });

  it.each([
    ["javascript:alert(1)"],
    ["data:text/html,hi"],
    ["https://*.example.com/cb"],
    ["https://app.example.com/cb#frag"],
    ["http://app.example.com/cb"],
    ["http://192.168.1.10/cb"],
    ["file:///tmp/x"],
    ["/relative"],
  ])("refuses the redirect URI %s with invalid_redirect_uri and a description", async (uri) => {
    const res = await post(publicClient({ redirect_uris: [uri] }));
    expect(res.status).toBe(400);
    expect(res.json.error).toBe("invalid_redirect_uri");
    expect(res.json.error_description).toEqual(expect.any(String));
  });

  it.each([
    [{ redirect_uris: ["https://a.example/cb"], grant_types: ["client_credentials"] }],
    [{ redirect_uris: ["https://a.example/cb"], response_types: ["token"] }],
    [{ redirect_uris: ["https://a.example/cb"], token_endpoint_auth_method: "private_key_jwt" }],
    [{ redirect_uris: ["https://a.example/cb"], client_name: "x".repeat(201) }],
  ])("refuses bad metadata %j with invalid_client_metadata", async (body) => {
    const res = await post(body);
    expect(res.status).toBe(400);
    expect(res.json.error).toBe("invalid_client_metadata");
  });

  it("limits sizes: number of redirect URIs, URI length, body size", async () => {
    const many = await post(publicClient({ redirect_uris: Array.from({ length: 21 }, (_, i) => `https://a.example/${i}`) }));
    expect(many.json.error).toBe("invalid_redirect_uri");
    const long = await post(publicClient({ redirect_uris: [`https://a.example/${"x".repeat(2100)}`] }));
    expect(long.json.error).toBe("invalid_redirect_uri");
    // Over 16 KB in short values (a single value over 8192 characters is the host's 400: tests/security/hostile-input.test.ts).
    const padding = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`padding${i}`, "x".repeat(1000)]));
    const big = await post(publicClient({ client_uri: "https://a.example/", ...padding }));
    expect(big.status).toBe(413);
    expect(big.json.error).toBe("invalid_client_metadata");
    const huge = await post("x".repeat(2 * 1024 * 1024));
    expect(huge.status).toBe(413);
    expect(huge.json.error).toBe("invalid_request");
  });

  it.each([
    ["{not json", "application/json"],
    ["[1,2,3]", "application/json"],
    ["null", "application/json"],
    ['"string"', "application/json"],
    ["redirect_uris=https://a.example/cb", "application/x-www-form-urlencoded"],
    ["hello", "text/plain"],
    ["", "application/json"],
  ])("malformed input %j (%s) is a 400 JSON error, never a 500", async (body, contentType) => {
    const res = await post(body, contentType);
    expect(res.status).toBe(400);
    expect(res.json.error).toBe("invalid_client_metadata");
    expect(res.text).not.toMatch(/stack|at \//);
  });

  it("GET is 405", async () => {
    const res = await fetch(`${server.url}/api/oauth/register`);
    expect(res.status).toBe(405);
    expect((await res.json()).error).toBe("invalid_request");
  });
});

describe("Unused registrations are swept; a swept client_id gets invalid_client (401) so clients re-register", () => {
  it("sweeps a registration older than UNUSED_CLIENT_RETENTION_HOURS that never got a token, keeps used ones", async () => {
    const unused = await register(server.url, publicClient());
    const used = await register(server.url, publicClient());
    const fresh = await register(server.url, publicClient());
    const jar = await signIn(server.url, "sweep@example.com");
    const { verifier, challenge } = pkce();
    const { location } = await authorizeThroughConsent(
      jar,
      authorizeUrl(server.url, { response_type: "code", client_id: used.client_id, redirect_uri: REDIRECT, code_challenge: challenge, code_challenge_method: "S256" }),
    );
    const tokens = await tokenRequest(server.url, { grant_type: "authorization_code", code: location.searchParams.get("code")!, code_verifier: verifier, client_id: used.client_id, redirect_uri: REDIRECT });
    expect(tokens.status).toBe(200);
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    await server.services.prisma.client.updateMany({ where: { clientId: { in: [unused.client_id, used.client_id] } }, data: { createdAt: twoHoursAgo } });

    const swept: unknown[] = [];
    const off = server.services.events.on("oauth.client.swept", (e) => swept.push(e));
    await server.services.jobs.run("oauth.sweep");
    off();
    const remaining = await server.services.prisma.client.findMany({ where: { clientId: { in: [unused.client_id, used.client_id, fresh.client_id] } } });
    expect(remaining.map((c) => c.clientId).sort()).toEqual([used.client_id, fresh.client_id].sort());
    expect(swept).toEqual([{ count: 1 }]);

    const token = await tokenRequest(server.url, { grant_type: "authorization_code", code: "mcpac_x", code_verifier: "a".repeat(43), client_id: unused.client_id });
    expect(token.status).toBe(401);
    expect(token.body.error).toBe("invalid_client");
    const basicAttempt = await tokenRequest(server.url, { grant_type: "authorization_code", code: "mcpac_x", code_verifier: "a".repeat(43) }, { headers: { authorization: basic(unused.client_id, "") } });
    expect(basicAttempt.status).toBe(401);
    expect(basicAttempt.headers.get("www-authenticate")).toMatch(/^Basic /);

    const page = await browse(jar, authorizeUrl(server.url, { response_type: "code", client_id: unused.client_id, redirect_uri: REDIRECT, code_challenge: challenge, code_challenge_method: "S256" }));
    expect(page.status).toBe(400);
    expect(page.headers.get("location")).toBeNull();
    expect(await page.text()).toContain("register again");
  });
});

describe("Client ID Metadata Documents, draft-ietf-oauth-client-id-metadata-document (MCP 2025-11-25)", () => {
  const documentUrl = "https://client.example/mcp/client.json";
  const document = {
    client_id: documentUrl,
    client_name: "Metadata Document Client",
    redirect_uris: ["http://127.0.0.1/callback"],
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    token_endpoint_auth_method: "none",
  };

  it("authorizes a client named by its metadata URL; loopback redirect on any port (RFC 8252 §7.3); tokens follow", async () => {
    server.services.oauth.metadataDocuments.useNetwork(internet({ [documentUrl]: document }));
    const registered: Array<{ kind: string }> = [];
    const off = server.services.events.on("oauth.client.registered", (e) => registered.push(e));
    const jar = await signIn(server.url, "cimd@example.com");
    const { verifier, challenge } = pkce();
    const redirectUri = "http://127.0.0.1:51234/callback";
    const page = await browse(
      jar,
      authorizeUrl(server.url, { response_type: "code", client_id: documentUrl, redirect_uri: redirectUri, code_challenge: challenge, code_challenge_method: "S256", state: "s1" }),
    );
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("Metadata Document Client");
    expect(html).toContain("client.example");
    const { location } = await authorizeThroughConsent(
      jar,
      authorizeUrl(server.url, { response_type: "code", client_id: documentUrl, redirect_uri: redirectUri, code_challenge: challenge, code_challenge_method: "S256", state: "s1" }),
    );
    expect(location.origin + location.pathname).toBe("http://127.0.0.1:51234/callback");
    const tokens = await tokenRequest(server.url, { grant_type: "authorization_code", code: location.searchParams.get("code")!, code_verifier: verifier, client_id: documentUrl, redirect_uri: redirectUri });
    expect(tokens.status).toBe(200);
    expect(tokens.body.refresh_token).toMatch(/^mcprt_/);
    off();
    expect(registered).toEqual([expect.objectContaining({ kind: "metadata_document" })]);
    const row = await server.services.prisma.client.findUniqueOrThrow({ where: { clientId: documentUrl } });
    expect(row.kind).toBe("METADATA_DOCUMENT");
    expect(row.clientSecretHash).toBeNull();
  });

  /** One authorization request through sign-in and consent (Allow) for the metadata-document client `clientId`. */
  const authorizeAs = (jar: CookieJar, clientId: string, redirectUri: string) =>
    authorizeThroughConsent(
      jar,
      authorizeUrl(server.url, { response_type: "code", client_id: clientId, redirect_uri: redirectUri, code_challenge: pkce().challenge, code_challenge_method: "S256" }),
    );

  it("asks every time when the redirect URI is loopback: anyone can present a public client_id (RFC 8252 §8.6)", async () => {
    server.services.oauth.metadataDocuments.useNetwork(internet({ [documentUrl]: document }));
    const jar = await signIn(server.url, "cimd-again@example.com");
    const ask = () => authorizeAs(jar, documentUrl, "http://127.0.0.1:51234/callback");
    expect((await ask()).consentShown).toBe(true);
    const again = await ask();
    expect(again.consentShown).toBe(true);
    expect(again.location.searchParams.get("code")).toBeTruthy();
  });

  it("remembers the consent of a metadata-document client whose redirect URI is https (its host is its identity)", async () => {
    const webUrl = "https://client.example/mcp/web.json";
    const web = { ...document, client_id: webUrl, redirect_uris: ["https://client.example/callback"] };
    server.services.oauth.metadataDocuments.useNetwork(internet({ [webUrl]: web }));
    const jar = await signIn(server.url, "cimd-web@example.com");
    const ask = () => authorizeAs(jar, webUrl, "https://client.example/callback");
    expect((await ask()).consentShown).toBe(true);
    expect((await ask()).consentShown).toBe(false);
  });

  it("refuses a document whose client_id is not its URL (local error page, no redirect)", async () => {
    const url = "https://other.example/client.json";
    server.services.oauth.metadataDocuments.useNetwork(internet({ [url]: { ...document, client_id: "https://client.example/mcp/client.json" } }));
    const jar = new CookieJar();
    const { challenge } = pkce();
    const res = await browse(jar, authorizeUrl(server.url, { response_type: "code", client_id: url, redirect_uri: "http://127.0.0.1/callback", code_challenge: challenge, code_challenge_method: "S256" }));
    expect(res.status).toBe(400);
    expect(res.headers.get("location")).toBeNull();
    expect(await res.text()).toContain("client_id does not equal its URL");
  });

  it("refuses a client_id URL whose host resolves to a private address (SSRF guard)", async () => {
    server.services.oauth.metadataDocuments.useNetwork(internet({}));
    const res = await tokenRequest(server.url, { grant_type: "authorization_code", code: "mcpac_x", code_verifier: "a".repeat(43), client_id: "https://internal.example/client.json" });
    expect(res.status).toBe(401);
    expect(res.body.error).toBe("invalid_client");
  });

  it("refuses a client_id URL on localhost with the real resolver and transport", async () => {
    server.services.oauth.metadataDocuments.useNetwork({ resolver: undefined, transport: undefined });
    const res = await tokenRequest(server.url, { grant_type: "authorization_code", code: "mcpac_x", code_verifier: "a".repeat(43), client_id: `https://localhost:${server.port}/client.json` });
    expect(res.status).toBe(401);
    expect(res.body.error).toBe("invalid_client");
    expect(String(res.body.error_description)).toMatch(/does not resolve to a public address/);
  });
});
