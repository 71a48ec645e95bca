/**
 * MCP enterprise-managed authorization (ext-auth `enterprise-managed-authorization` §5, draft-ietf-oauth-identity-
 * assertion-authz-grant, RFC 7523 §2.1): the jwt-bearer grant carrying an ID-JAG from a trusted identity provider.
 * The IdP is a fake with real keys (jose) whose JWK Set is served by a local HTTP server behind the SSRF guard.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { sha256Hex } from "../../server/crypto.ts";
import { addIdentityProvider, listIdentityProviders, removeIdentityProvider, setIdentityProviderDisabled } from "../../server/oauth/identity-providers.ts";
import { createMachineClient } from "../../server/oauth/machine-clients.ts";
import { FakeIdentityProvider, hostedNetwork } from "../helpers/fake-idp.ts";
import { connectStreamable, structured } from "../helpers/mcp.ts";
import type { TestServer } from "../helpers/server.ts";
import { basic, collectEvents, mcpStatus, startOAuthFixture, tokenRequest } from "./oauth-support.ts";
import { OPERATOR } from "../../server/audit.ts";

const JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const EMAIL = "employee@corp.example";

let server: TestServer;
let app: string;
let idp: FakeIdentityProvider;
let untrusted: FakeIdentityProvider;
let client: { clientId: string; secret: string; id: string };
let other: { clientId: string; secret: string; id: string };

async function machine(name: string) {
  const { client, clientSecret } = await createMachineClient(server.services, { name, grantTypes: ["jwt-bearer"] }, OPERATOR);
  return { clientId: client.clientId, id: client.id, secret: clientSecret! };
}

beforeAll(async () => {
  ({ server, app } = await startOAuthFixture({ email: EMAIL }));
  idp = await new FakeIdentityProvider("idp.example").listen();
  await idp.rotate("RS256");
  untrusted = new FakeIdentityProvider("evil.example");
  await untrusted.rotate("ES256");
  server.services.oauth.keySets.useNetwork(hostedNetwork(idp));
  await addIdentityProvider(server.services, { issuer: idp.issuer, jwksUri: idp.jwksUri }, OPERATOR);
  client = await machine("Enterprise agent");
  other = await machine("Another agent");
});

function jag(overrides: Record<string, unknown> = {}, input: Partial<{ email: string; clientId: string; scope: string }> = {}, typ?: string) {
  return idp.idJag({ email: EMAIL, clientId: client.clientId, aud: app, resource: `${app}/mcp`, ...input }, overrides, typ);
}

function redeem(assertion: string, extra: Record<string, string> = {}, as = client) {
  return tokenRequest(server.url, { grant_type: JWT_BEARER, assertion, ...extra }, { headers: { authorization: basic(as.clientId, as.secret) } });
}

describe("Metadata, draft-ietf-oauth-identity-assertion-authz-grant", () => {
  it("advertises the jwt-bearer grant type and the ID-JAG grant profile", async () => {
    const metadata = await (await fetch(`${server.url}/.well-known/oauth-authorization-server`)).json();
    expect(metadata.grant_types_supported).toContain(JWT_BEARER);
    expect(metadata.authorization_grant_profiles_supported).toEqual(["urn:ietf:params:oauth:grant-profile:id-jag"]);
  });
});

describe("jwt-bearer grant with an ID-JAG, ext-auth enterprise-managed authorization §5", () => {
  it("issues a token for the person the IdP names, bound to the assertion's resource, with no refresh token", async () => {
    const issued = collectEvents(server, "oauth.token.issued");
    const res = await redeem(await jag());
    issued.stop();
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual({ access_token: expect.stringMatching(/^mcpat_/), token_type: "Bearer", expires_in: 3600, scope: "mcp:tools" });
    const person = await server.services.prisma.user.findUniqueOrThrow({ where: { email: EMAIL } });
    expect(issued.events).toEqual([expect.objectContaining({ grantType: JWT_BEARER, refreshToken: false, userId: person.id, clientId: client.id })]);
    const row = await server.services.prisma.accessToken.findUniqueOrThrow({ where: { tokenHash: sha256Hex(res.body.access_token as string) }, include: { grant: true } });
    expect(row).toMatchObject({ userId: person.id, resource: `${app}/mcp` });
    expect(row.grant.identityProviderId).not.toBeNull();
    const mcp = await connectStreamable(server.url, res.body.access_token as string);
    const who = structured<{ user: { email: string } }>(await mcp.callTool({ name: "whoami", arguments: {} }));
    expect(who.user.email).toBe(EMAIL);
  });

  it("binds the token to a narrower resource named in the assertion (RFC 8707)", async () => {
    const res = await redeem(await jag({ resource: `${app}/mcp/mcp` }));
    expect(res.status).toBe(200);
    expect(await mcpStatus(server.url, res.body.access_token as string, "/mcp/mcp")).toBe(200);
    const sse = await fetch(`${server.url}/mcp/sse`, { headers: { authorization: `Bearer ${res.body.access_token}`, accept: "text/event-stream" } });
    await sse.body?.cancel();
    expect(sse.status).toBe(401);
  });

  it("keeps the scope within what the IdP approved and what the person may hold", async () => {
    const narrowed = await redeem(await jag({}, { scope: "mcp:tools:read" }));
    expect(narrowed.body.scope).toBe("mcp:tools:read");
    const beyond = await redeem(await jag({}, { scope: "mcp:tools:read" }), { scope: "mcp:tools" });
    expect(beyond.status).toBe(400);
    expect(beyond.body.error).toBe("invalid_scope");
    const admin = await redeem(await jag(), { scope: "mcp:admin" });
    expect(admin.status).toBe(400);
    expect(admin.body.error).toBe("invalid_scope");
  });

  it("refuses an ID-JAG from an untrusted issuer (high-severity security event)", async () => {
    const security = collectEvents(server, "security.event");
    const res = await redeem(await untrusted.idJag({ email: EMAIL, clientId: client.clientId, aud: app, resource: `${app}/mcp` }));
    security.stop();
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: "invalid_grant" });
    expect(res.body.error_description).toMatch(/trusted/);
    expect(security.events).toEqual([expect.objectContaining({ severity: "high", details: expect.objectContaining({ reason: "idjag_untrusted_issuer" }) })]);
  });

  it("refuses an ID-JAG signed by another key claiming a trusted issuer", async () => {
    const forged = await untrusted.idJag({ email: EMAIL, clientId: client.clientId, aud: app, resource: `${app}/mcp` }, { iss: idp.issuer });
    const res = await redeem(forged);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe("invalid_grant");
  });

  it("refuses an ID-JAG issued for another client", async () => {
    const res = await redeem(await jag({}, { clientId: other.clientId }));
    expect(res.status).toBe(400);
    expect(res.body.error_description).toMatch(/another client/);
  });

  it("refuses an ID-JAG without resource", async () => {
    const res = await redeem(await jag({ resource: undefined }));
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: "invalid_grant", error_description: "the assertion names no resource" });
  });

  it("refuses a resource parameter that differs from the assertion's (invalid_target) and a resource not ours", async () => {
    const differs = await redeem(await jag({ resource: `${app}/mcp/mcp` }), { resource: `${app}/mcp/sse` });
    expect(differs.status).toBe(400);
    expect(differs.body.error).toBe("invalid_target");
    const foreign = await redeem(await jag({ resource: "https://elsewhere.example/mcp" }));
    expect(foreign.status).toBe(400);
    expect(foreign.body.error).toBe("invalid_target");
  });

  it("refuses a replayed ID-JAG (jti single use)", async () => {
    const assertion = await jag();
    expect((await redeem(assertion)).status).toBe(200);
    const security = collectEvents(server, "security.event");
    const again = await redeem(assertion);
    security.stop();
    expect(again.status).toBe(400);
    expect(again.body).toMatchObject({ error: "invalid_grant", error_description: "the assertion was already used" });
    expect(security.events).toEqual([expect.objectContaining({ type: "TOKEN_REUSE", severity: "high" })]);
  });

  it("refuses the wrong typ, the wrong aud, an expired assertion, one issued in the future, one without iat", async () => {
    const now = Math.floor(Date.now() / 1000);
    const cases: Array<[string, Promise<string>, RegExp]> = [
      ["typ JWT", jag({}, {}, "JWT"), /typ/],
      ["aud elsewhere", jag({ aud: "https://other-as.example" }), /aud/],
      ["expired", jag({ iat: now - 900, exp: now - 600 }), /expired/],
      ["future iat", jag({ iat: now + 3600 }), /future/],
      ["no iat", jag({ iat: undefined }), /iat/],
    ];
    for (const [name, assertion, description] of cases) {
      const res = await redeem(await assertion);
      expect(res.status, name).toBe(400);
      expect(res.body.error, name).toBe("invalid_grant");
      expect(res.body.error_description, name).toMatch(description);
    }
  });

  it("refuses an unknown person unless the IdP may create people; then creates them with role USER", async () => {
    const newcomer = "newcomer@corp.example";
    const refused = await redeem(await jag({}, { email: newcomer }));
    expect(refused.status).toBe(400);
    expect(refused.body.error_description).toMatch(/no account/);
    expect(await server.services.prisma.user.count({ where: { email: newcomer } })).toBe(0);

    const open = await new FakeIdentityProvider("open-idp.example").listen();
    await open.rotate("EdDSA");
    server.services.oauth.keySets.useNetwork(hostedNetwork(idp, open));
    await addIdentityProvider(server.services, { issuer: open.issuer, jwks: open.jwks(), allowNewUsers: true }, OPERATOR);
    const res = await redeem(await open.idJag({ email: newcomer, clientId: client.clientId, aud: app, resource: `${app}/mcp` }));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(await server.services.prisma.user.findUnique({ where: { email: newcomer }, select: { role: true } })).toEqual({ role: "USER" });
  });

  it("refuses the grant to a client not registered for it, and a wrong client secret", async () => {
    const { client: ccOnly, clientSecret } = await createMachineClient(server.services, { name: "cc only", grantTypes: ["client_credentials"] }, OPERATOR);
    const res = await tokenRequest(server.url, { grant_type: JWT_BEARER, assertion: await jag({}, { clientId: ccOnly.clientId }) }, { headers: { authorization: basic(ccOnly.clientId, clientSecret!) } });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe("unauthorized_client");
    const wrong = await redeem(await jag(), {}, { ...client, secret: "nope" });
    expect(wrong.status).toBe(401);
  });

  it("refuses a missing or malformed assertion with 4xx, never 500", async () => {
    const missing = await tokenRequest(server.url, { grant_type: JWT_BEARER }, { headers: { authorization: basic(client.clientId, client.secret) } });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toBe("invalid_request");
    for (const junk of ["x", "a.b.c", "e30.e30.", "x".repeat(40_000)]) {
      const res = await redeem(junk);
      expect(res.status).toBe(400);
      // An over-long parameter is refused while the body is read (request-params.ts), before the grant looks at it.
      expect(["invalid_grant", "invalid_request"]).toContain(res.body.error);
    }
  });

  it("a disabled IdP is refused; removing one revokes the grants it produced", async () => {
    const res = await redeem(await jag());
    expect(await mcpStatus(server.url, res.body.access_token as string)).toBe(200);
    await setIdentityProviderDisabled(server.services, idp.issuer, true, OPERATOR);
    const refused = await redeem(await jag());
    expect(refused.status).toBe(400);
    expect(refused.body.error_description).toMatch(/trusted/);
    const [row] = (await listIdentityProviders(server.services)).filter((p) => p.issuer === idp.issuer);
    expect(row.activeGrants).toBeGreaterThan(0);
    const counts = await removeIdentityProvider(server.services, idp.issuer, OPERATOR);
    expect(counts.grants).toBeGreaterThan(0);
    expect(await mcpStatus(server.url, res.body.access_token as string)).toBe(401);
  });
});
