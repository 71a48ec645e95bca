/**
 * MCP client credentials extension (ext-auth `oauth-client-credentials`): the client_credentials grant (OAuth 2.1
 * §4.2) for admin-created machine clients, authenticated by client_secret_basic or private_key_jwt (RFC 7523 §2.2
 * with a `jwks` or a `jwks_uri` served by a local HTTP server behind the SSRF guard), the metadata it needs, and
 * every refusal the issue lists.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { sha256Hex } from "../../server/crypto.ts";
import { createMachineClient } from "../../server/oauth/machine-clients.ts";
import { setClientDisabled } from "../../server/oauth/client-admin.ts";
import { calculateJwkThumbprint } from "jose";
import { dpopKey } from "../helpers/dpop.ts";
import { clientAssertion, hostedNetwork, KeyHolder } from "../helpers/fake-idp.ts";
import { connectStreamable, structured } from "../helpers/mcp.ts";
import type { TestServer } from "../helpers/server.ts";
import { basic, collectEvents, mcpStatus, publicClient, startOAuthFixture, tokenRequest, type RegisteredClient } from "./oauth-support.ts";
import { OPERATOR } from "../../server/audit.ts";
import { listActiveGrants } from "../../server/oauth/grants.ts";

const ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

let server: TestServer;
let app: string;
let publicRegistered: RegisteredClient;
let secretClient: { clientId: string; secret: string; id: string };
let inlineKeys: KeyHolder;
let inlineClient: { clientId: string; id: string };
let hostedKeys: KeyHolder;
let hostedClient: { clientId: string; id: string };

async function machine(input: Parameters<typeof createMachineClient>[1]) {
  const { client, clientSecret } = await createMachineClient(server.services, input, OPERATOR);
  return { clientId: client.clientId, id: client.id, secret: clientSecret ?? "" };
}

beforeAll(async () => {
  ({ server, app, client: publicRegistered } = await startOAuthFixture({ email: "cc-person@example.com" }));
  secretClient = await machine({ name: "CI job", grantTypes: ["client_credentials"] });
  inlineKeys = new KeyHolder("inline.example");
  await inlineKeys.rotate("ES256");
  await inlineKeys.rotate("EdDSA");
  inlineClient = await machine({ name: "Agent (jwks)", grantTypes: ["client_credentials"], authMethod: "private_key_jwt", jwks: inlineKeys.jwks() });
  hostedKeys = await new KeyHolder("keys.example").listen();
  await hostedKeys.rotate("RS256");
  hostedClient = await machine({ name: "Agent (jwks_uri)", grantTypes: ["client_credentials"], authMethod: "private_key_jwt", jwksUri: hostedKeys.jwksUri });
  // A 1 s cooldown between refetches for an unknown kid (30 s in production), so the rotation test need not wait long.
  server.services.oauth.keySets.useNetwork({ ...hostedNetwork(hostedKeys), cooldownMs: 1_000 });
});

function secretGrant(clientId: string, secret: string, extra: Record<string, string> = {}) {
  return tokenRequest(server.url, { grant_type: "client_credentials", ...extra }, { headers: { authorization: basic(clientId, secret) } });
}

function jwtGrant(assertion: string, extra: Record<string, string | undefined> = {}) {
  return tokenRequest(server.url, { grant_type: "client_credentials", client_assertion_type: ASSERTION_TYPE, client_assertion: assertion, ...extra });
}

describe("Authorization server metadata, MCP client credentials extension §Server Metadata Requirements", () => {
  it("lists client_credentials, private_key_jwt, client_secret_basic and the assertion signing algorithms", async () => {
    const metadata = await (await fetch(`${server.url}/.well-known/oauth-authorization-server`)).json();
    expect(metadata.grant_types_supported).toEqual(expect.arrayContaining(["client_credentials", "urn:ietf:params:oauth:grant-type:jwt-bearer"]));
    expect(metadata.token_endpoint_auth_methods_supported).toEqual(expect.arrayContaining(["client_secret_basic", "private_key_jwt"]));
    expect(metadata.token_endpoint_auth_signing_alg_values_supported).toEqual(expect.arrayContaining(["RS256", "ES256", "EdDSA"]));
    expect(metadata.token_endpoint_auth_signing_alg_values_supported).not.toContain("none");
    expect(metadata.token_endpoint_auth_signing_alg_values_supported).not.toContain("HS256");
  });
});

describe("client_credentials with client_secret_basic, OAuth 2.1 §4.2", () => {
  it("issues an audience-bound Bearer token with the default scope and no refresh token; the client's own grant has no user", async () => {
    const issued = collectEvents(server, "oauth.token.issued");
    const res = await secretGrant(secretClient.clientId, secretClient.secret, { resource: `${app}/mcp/mcp` });
    issued.stop();
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.body).toEqual({ access_token: expect.stringMatching(/^mcpat_/), token_type: "Bearer", expires_in: 3600, scope: "mcp:tools" });
    expect(issued.events).toEqual([expect.objectContaining({ grantType: "client_credentials", refreshToken: false, clientId: secretClient.id, userId: null })]);
    const row = await server.services.prisma.accessToken.findUniqueOrThrow({ where: { tokenHash: sha256Hex(res.body.access_token as string) }, include: { grant: true } });
    expect(row).toMatchObject({ userId: null, resource: `${app}/mcp/mcp`, scope: "mcp:tools" });
    expect(row.grant).toMatchObject({ userId: null, clientId: secretClient.id, identityProviderId: null });
    // RFC 8707: bound to /mcp/mcp, so refused at /mcp/sse.
    expect(await mcpStatus(server.url, res.body.access_token as string, "/mcp/mcp")).toBe(200);
    const sse = await fetch(`${server.url}/mcp/sse`, { headers: { authorization: `Bearer ${res.body.access_token}`, accept: "text/event-stream" } });
    await sse.body?.cancel();
    expect(sse.status).toBe(401);
  });

  it("calls an MCP tool as the client itself (whoami names no person)", async () => {
    const res = await secretGrant(secretClient.clientId, secretClient.secret);
    const mcp = await connectStreamable(server.url, res.body.access_token as string);
    const who = structured<{ user: unknown; client: { clientId: string } }>(await mcp.callTool({ name: "whoami", arguments: {} }));
    expect(who.user).toBeNull();
    expect(who.client.clientId).toBe(secretClient.clientId);
    const apps = await mcp.callTool({ name: "list_connected_apps", arguments: {} });
    expect(apps.isError).toBe(true);
  });

  it("shows the token as the client's own grant in the console's grant list", async () => {
    const page = await listActiveGrants(server.services, { clientDbId: secretClient.id, take: 50 });
    expect(page.items.length).toBeGreaterThan(0);
    expect(page.items[0]).toMatchObject({ userId: null, user: null, clientId: secretClient.clientId });
  });

  it("refuses a wrong secret: 401 invalid_client with WWW-Authenticate: Basic", async () => {
    const security = collectEvents(server, "security.event");
    const res = await secretGrant(secretClient.clientId, "wrong-secret");
    security.stop();
    expect(res.status).toBe(401);
    expect(res.body.error).toBe("invalid_client");
    expect(res.headers.get("www-authenticate")).toMatch(/^Basic/);
    expect(security.events).toEqual([expect.objectContaining({ type: "INVALID_CLIENT" })]);
  });

  it("never grants mcp:admin unless an admin registered the client with it, and then only when asked", async () => {
    const refused = await secretGrant(secretClient.clientId, secretClient.secret, { scope: "mcp:admin" });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe("invalid_scope");
    const adminClient = await machine({ name: "Ops bot", grantTypes: ["client_credentials"], scopes: ["mcp:tools", "mcp:admin"] });
    const plain = await secretGrant(adminClient.clientId, adminClient.secret);
    expect(plain.body.scope).toBe("mcp:tools");
    const admin = await secretGrant(adminClient.clientId, adminClient.secret, { scope: "mcp:tools mcp:admin" });
    expect(admin.body.scope).toBe("mcp:tools mcp:admin");
    const mcp = await connectStreamable(server.url, admin.body.access_token as string);
    const tools = await mcp.listTools();
    expect(tools.tools.map((t) => t.name)).toContain("admin_list_clients");
    const listed = structured<{ total: number }>(await mcp.callTool({ name: "admin_list_clients", arguments: {} }));
    expect(listed.total).toBeGreaterThan(0);
  });

  it("narrows to a requested scope the client holds (mcp:tools:read)", async () => {
    const res = await secretGrant(secretClient.clientId, secretClient.secret, { scope: "mcp:tools:read" });
    expect(res.status).toBe(200);
    expect(res.body.scope).toBe("mcp:tools:read");
  });

  it("binds the token to the client's DPoP key when the request carries a proof, after the server's nonce (RFC 9449 §5, §8)", async () => {
    const key = await dpopKey("ES256");
    const tokenUrl = `${app}/api/oauth/token`;
    const auth = { authorization: basic(secretClient.clientId, secretClient.secret) };
    const first = await tokenRequest(server.url, { grant_type: "client_credentials" }, { headers: { ...auth, DPoP: await key.proof("POST", tokenUrl) } });
    expect(first.status).toBe(400);
    expect(first.body.error).toBe("use_dpop_nonce");
    const nonce = first.headers.get("dpop-nonce")!;
    const res = await tokenRequest(server.url, { grant_type: "client_credentials" }, { headers: { ...auth, DPoP: await key.proof("POST", tokenUrl, { nonce }) } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.token_type).toBe("DPoP");
    const row = await server.services.prisma.accessToken.findUniqueOrThrow({ where: { tokenHash: sha256Hex(res.body.access_token as string) } });
    expect(row.dpopJkt).toBe(await calculateJwkThumbprint(key.publicJwk, "sha256"));
    // A DPoP-bound token sent as a Bearer token is refused (RFC 9449 §7.2).
    expect(await mcpStatus(server.url, res.body.access_token as string)).toBe(401);
  });

  it("refuses a resource that is not this server's: invalid_target", async () => {
    const res = await secretGrant(secretClient.clientId, secretClient.secret, { resource: "https://elsewhere.example/mcp" });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe("invalid_target");
  });

  it("refuses a public client asking for client_credentials: unauthorized_client", async () => {
    const res = await tokenRequest(server.url, { grant_type: "client_credentials", client_id: publicRegistered.client_id });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe("unauthorized_client");
  });

  it("never creates a client_credentials client by open registration (RFC 7591): invalid_client_metadata", async () => {
    const res = await fetch(`${server.url}/api/oauth/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(publicClient({ grant_types: ["client_credentials"], token_endpoint_auth_method: "client_secret_basic" })),
    });
    expect(res.status).toBe(400);
    expect((await res.json()).error).toBe("invalid_client_metadata");
  });

  it("refuses a disabled client, and its tokens stop working", async () => {
    const bot = await machine({ name: "Soon disabled", grantTypes: ["client_credentials"] });
    const before = await secretGrant(bot.clientId, bot.secret);
    expect(await mcpStatus(server.url, before.body.access_token as string)).toBe(200);
    await setClientDisabled(server.services, bot.id, true, OPERATOR);
    const res = await secretGrant(bot.clientId, bot.secret);
    expect(res.status).toBe(401);
    expect(res.body.error).toBe("invalid_client");
    expect(await mcpStatus(server.url, before.body.access_token as string)).toBe(401);
  });
});

describe("client_credentials with private_key_jwt, RFC 7523 §2.2 / §3", () => {
  it("accepts an ES256 assertion verified with the client's inline jwks; aud may be the issuer or the token endpoint; no client_id needed", async () => {
    const byIssuer = await jwtGrant(await clientAssertion(inlineKeys, inlineClient.clientId, app, {}, inlineKeys.keys[0]), {});
    expect(byIssuer.status, JSON.stringify(byIssuer.body)).toBe(200);
    expect(byIssuer.body.token_type).toBe("Bearer");
    expect(byIssuer.body.refresh_token).toBeUndefined();
    const byEndpoint = await jwtGrant(await inlineKeys.sign(
      { iss: inlineClient.clientId, sub: inlineClient.clientId, aud: `${app}/api/oauth/token`, exp: Math.floor(Date.now() / 1000) + 60, jti: crypto.randomUUID() },
      {},
      inlineKeys.keys[0],
    ), { client_id: inlineClient.clientId });
    expect(byEndpoint.status, JSON.stringify(byEndpoint.body)).toBe(200);
    expect(await mcpStatus(server.url, byEndpoint.body.access_token as string)).toBe(200);
  });

  it("accepts an EdDSA assertion", async () => {
    const res = await jwtGrant(await clientAssertion(inlineKeys, inlineClient.clientId, app));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  });

  it("accepts an RS256 assertion verified with keys fetched from the client's jwks_uri, cached", async () => {
    const before = hostedKeys.jwksRequests;
    for (let i = 0; i < 2; i++) {
      const res = await jwtGrant(await clientAssertion(hostedKeys, hostedClient.clientId, app));
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    }
    expect(hostedKeys.jwksRequests - before).toBeLessThanOrEqual(1);
  });

  it("follows key rotation: an assertion with a new kid makes the server fetch the jwks_uri again", async () => {
    await jwtGrant(await clientAssertion(hostedKeys, hostedClient.clientId, app));
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await hostedKeys.rotate("ES256");
    const before = hostedKeys.jwksRequests;
    const res = await jwtGrant(await clientAssertion(hostedKeys, hostedClient.clientId, app));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(hostedKeys.jwksRequests).toBe(before + 1);
  });

  it("refuses an unknown kid, refetching the jwks_uri at most once per cooldown", async () => {
    const stranger = new KeyHolder("stranger.example");
    await stranger.rotate("ES256");
    const before = hostedKeys.jwksRequests;
    for (let i = 0; i < 3; i++) {
      const res = await jwtGrant(await clientAssertion(stranger, hostedClient.clientId, app));
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ error: "invalid_client" });
      expect(res.body.error_description).toMatch(/kid/);
    }
    expect(hostedKeys.jwksRequests - before).toBeLessThanOrEqual(1);
    const inline = await jwtGrant(await clientAssertion(stranger, inlineClient.clientId, app));
    expect(inline.status).toBe(401);
  });

  it("refuses the wrong aud", async () => {
    const res = await jwtGrant(await clientAssertion(inlineKeys, inlineClient.clientId, "https://other-as.example"));
    expect(res.status).toBe(401);
    expect(res.body.error).toBe("invalid_client");
    expect(res.body.error_description).toMatch(/aud/);
  });

  it("refuses an expired assertion", async () => {
    const past = Math.floor(Date.now() / 1000) - 600;
    const res = await jwtGrant(await clientAssertion(inlineKeys, inlineClient.clientId, app, { iat: past, exp: past + 60 }));
    expect(res.status).toBe(401);
    expect(res.body.error_description).toMatch(/expired/);
  });

  it("refuses an assertion that lives too long (exp more than 5 minutes ahead)", async () => {
    const res = await jwtGrant(await clientAssertion(inlineKeys, inlineClient.clientId, app, { exp: Math.floor(Date.now() / 1000) + 3600 }));
    expect(res.status).toBe(401);
    expect(res.body.error_description).toMatch(/expire within/);
  });

  it("refuses a replayed assertion (jti single use) with a high-severity security event", async () => {
    const assertion = await clientAssertion(inlineKeys, inlineClient.clientId, app);
    expect((await jwtGrant(assertion)).status).toBe(200);
    const security = collectEvents(server, "security.event");
    const again = await jwtGrant(assertion);
    security.stop();
    expect(again.status).toBe(401);
    expect(again.body.error_description).toMatch(/already used/);
    expect(security.events).toEqual([expect.objectContaining({ type: "INVALID_CLIENT", severity: "high" })]);
  });

  it("refuses iss/sub that are not the client, a missing jti, alg none and a symmetric alg", async () => {
    const wrongIss = await clientAssertion(inlineKeys, inlineClient.clientId, app, { iss: "someone-else" });
    expect((await jwtGrant(wrongIss)).status).toBe(401);
    const noJti = await clientAssertion(inlineKeys, inlineClient.clientId, app, { jti: undefined });
    expect((await jwtGrant(noJti)).status).toBe(401);
    const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: inlineClient.clientId, sub: inlineClient.clientId, aud: app, exp: now + 60, jti: crypto.randomUUID() };
    const none = `${enc({ alg: "none" })}.${enc(claims)}.`;
    expect((await jwtGrant(none)).status).toBe(401);
    const { SignJWT } = await import("jose");
    const hs = await new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).sign(new TextEncoder().encode("x".repeat(32)));
    expect((await jwtGrant(hs)).status).toBe(401);
  });

  it("refuses mixing methods: a secret client presenting an assertion, a key client presenting a secret, both at once", async () => {
    const asSecretClient = await jwtGrant(await clientAssertion(inlineKeys, secretClient.clientId, app));
    expect(asSecretClient.status).toBe(401);
    const keyClientWithSecret = await secretGrant(inlineClient.clientId, "anything");
    expect(keyClientWithSecret.status).toBe(401);
    const both = await tokenRequest(
      server.url,
      { grant_type: "client_credentials", client_assertion_type: ASSERTION_TYPE, client_assertion: await clientAssertion(inlineKeys, inlineClient.clientId, app) },
      { headers: { authorization: basic(secretClient.clientId, secretClient.secret) } },
    );
    expect(both.status).toBe(400);
    expect(both.body.error).toBe("invalid_request");
  });

  it("refuses an unknown client_assertion_type and garbage assertions with 4xx, never 500", async () => {
    const wrongType = await tokenRequest(server.url, { grant_type: "client_credentials", client_assertion_type: "urn:x", client_assertion: "a.b.c" });
    expect(wrongType.status).toBe(401);
    for (const junk of ["", "x", "a.b.c", "e30.e30.", "%%%", "x".repeat(20_000)]) {
      const res = await jwtGrant(junk);
      expect([400, 401]).toContain(res.status);
      expect(JSON.stringify(res.body)).not.toMatch(/stack|Error:/);
    }
  });

  it("refuses a jwks_uri that resolves to a private address (SSRF guard): invalid_client, not 500", async () => {
    const inside = await machine({ name: "SSRF", grantTypes: ["client_credentials"], authMethod: "private_key_jwt", jwksUri: "https://internal.example/jwks" });
    const res = await jwtGrant(await clientAssertion(inlineKeys, inside.clientId, app));
    expect(res.status).toBe(401);
    expect(res.body.error).toBe("invalid_client");
  });
});
