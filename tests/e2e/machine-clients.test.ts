/**
 * End to end, machine and enterprise clients against `/mcp/mcp`, each configured with nothing but the MCP server
 * URL and its credentials:
 * - oauth4webapi (a strict client): client_credentials with client_secret_basic and with private_key_jwt, then an
 *   MCP tool call with each token;
 * - the MCP SDK v1 client (`@modelcontextprotocol/sdk/client/auth-extensions.js`): ClientCredentialsProvider and
 *   PrivateKeyJwtProvider, 401 → discovery → token → tools/call;
 * - the MCP SDK v2 client (`@modelcontextprotocol/client`): the same two providers, and CrossAppAccessProvider for
 *   enterprise-managed authorization (its assertion callback gets an ID-JAG from a fake identity provider).
 */
import { Client as ClientV2, ClientCredentialsProvider as ClientCredentialsV2, CrossAppAccessProvider, PrivateKeyJwtProvider as PrivateKeyJwtV2, StreamableHTTPClientTransport as TransportV2 } from "@modelcontextprotocol/client";
import { Client as ClientV1 } from "@modelcontextprotocol/sdk/client/index.js";
import { ClientCredentialsProvider as ClientCredentialsV1, PrivateKeyJwtProvider as PrivateKeyJwtV1 } from "@modelcontextprotocol/sdk/client/auth-extensions.js";
import { StreamableHTTPClientTransport as TransportV1 } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { exportPKCS8, generateKeyPair, exportJWK } from "jose";
import * as oauth from "oauth4webapi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addIdentityProvider } from "../../server/oauth/identity-providers.ts";
import { createMachineClient } from "../../server/oauth/machine-clients.ts";
import { FakeIdentityProvider, hostedNetwork } from "../helpers/fake-idp.ts";
import { structured } from "../helpers/mcp.ts";
import { discoverFrom, insecure } from "../helpers/oauth4webapi.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { OPERATOR } from "../../server/audit.ts";

let server: TestServer;
let mcpUrl: URL;
let issuer: string;
const closers: Array<() => Promise<unknown>> = [];

/** An ES256 key pair: the PKCS#8 PEM the SDK providers take, the CryptoKey oauth4webapi takes, and the public JWK. */
async function keyPair() {
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
  return { privateKey, pem: await exportPKCS8(privateKey), jwk: { ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256", use: "sig" } };
}

async function secretClient(name: string, grantTypes = ["client_credentials"]) {
  const { client, clientSecret } = await createMachineClient(server.services, { name, grantTypes }, OPERATOR);
  return { clientId: client.clientId, secret: clientSecret! };
}

async function keyClient(name: string) {
  const keys = await keyPair();
  const { client } = await createMachineClient(server.services, { name, grantTypes: ["client_credentials"], authMethod: "private_key_jwt", jwks: { keys: [keys.jwk] } }, OPERATOR);
  return { clientId: client.clientId, ...keys };
}

beforeAll(async () => {
  server = await startTestServer({ RATE_LIMIT_ENABLED: "false" });
  mcpUrl = new URL(`${server.url}/mcp/mcp`);
  issuer = server.env.APP_URL;
});

afterAll(async () => {
  for (const close of closers.splice(0)) await close().catch(() => {});
});

async function whoamiV1(transport: TransportV1) {
  const client = new ClientV1({ name: "machine-e2e-v1", version: "1.0.0" });
  closers.push(() => client.close());
  await client.connect(transport);
  return structured<{ user: { email: string } | null; client: { clientId: string }; scopes: string[] }>(await client.callTool({ name: "whoami", arguments: {} }));
}

async function whoamiV2(transport: TransportV2) {
  const client = new ClientV2({ name: "machine-e2e-v2", version: "1.0.0" });
  closers.push(() => client.close());
  await client.connect(transport);
  return structured<{ user: { email: string } | null; client: { clientId: string }; scopes: string[] }>(await client.callTool({ name: "whoami", arguments: {} }));
}

describe("oauth4webapi: client_credentials (OAuth 2.1 §4.2) with both authentication methods, then an MCP tool", () => {
  async function callWhoami(token: string) {
    const transport = new TransportV1(mcpUrl, { requestInit: { headers: { Authorization: `Bearer ${token}` } } });
    return whoamiV1(transport);
  }

  it("client_secret_basic", async () => {
    const { prm, as } = await discoverFrom(mcpUrl);
    expect(as.token_endpoint_auth_methods_supported).toContain("client_secret_basic");
    const machine = await secretClient("oauth4webapi secret");
    const response = await oauth.clientCredentialsGrantRequest(
      as,
      { client_id: machine.clientId },
      oauth.ClientSecretBasic(machine.secret),
      new URLSearchParams({ resource: prm.resource, scope: "mcp:tools" }),
      insecure,
    );
    const tokens = await oauth.processClientCredentialsResponse(as, { client_id: machine.clientId }, response);
    expect(tokens.token_type).toBe("bearer");
    expect(tokens.refresh_token).toBeUndefined();
    const who = await callWhoami(tokens.access_token);
    expect(who.client.clientId).toBe(machine.clientId);
    expect(who.user).toBeNull();
  });

  it("private_key_jwt", async () => {
    const { prm, as } = await discoverFrom(mcpUrl);
    expect(as.token_endpoint_auth_methods_supported).toContain("private_key_jwt");
    const machine = await keyClient("oauth4webapi jwt");
    const response = await oauth.clientCredentialsGrantRequest(
      as,
      { client_id: machine.clientId },
      oauth.PrivateKeyJwt({ key: machine.privateKey, kid: "k1" }),
      new URLSearchParams({ resource: prm.resource }),
      insecure,
    );
    const tokens = await oauth.processClientCredentialsResponse(as, { client_id: machine.clientId }, response);
    const who = await callWhoami(tokens.access_token);
    expect(who.client.clientId).toBe(machine.clientId);
  });
});

describe("MCP SDK v1 auth extensions against /mcp/mcp", () => {
  it("ClientCredentialsProvider", async () => {
    const machine = await secretClient("sdk v1 secret");
    const authProvider = new ClientCredentialsV1({ clientId: machine.clientId, clientSecret: machine.secret, expectedIssuer: issuer });
    const who = await whoamiV1(new TransportV1(mcpUrl, { authProvider }));
    expect(who.client.clientId).toBe(machine.clientId);
    expect(authProvider.tokens()?.refresh_token).toBeUndefined();
  });

  it("PrivateKeyJwtProvider", async () => {
    const machine = await keyClient("sdk v1 jwt");
    const authProvider = new PrivateKeyJwtV1({ clientId: machine.clientId, privateKey: machine.pem, algorithm: "ES256", expectedIssuer: issuer });
    const who = await whoamiV1(new TransportV1(mcpUrl, { authProvider }));
    expect(who.client.clientId).toBe(machine.clientId);
  });
});

describe("MCP SDK v2 client against /mcp/mcp", () => {
  it("ClientCredentialsProvider", async () => {
    const machine = await secretClient("sdk v2 secret");
    const authProvider = new ClientCredentialsV2({ clientId: machine.clientId, clientSecret: machine.secret, expectedIssuer: issuer });
    const who = await whoamiV2(new TransportV2(mcpUrl, { authProvider }));
    expect(who.client.clientId).toBe(machine.clientId);
  });

  it("PrivateKeyJwtProvider", async () => {
    const machine = await keyClient("sdk v2 jwt");
    const authProvider = new PrivateKeyJwtV2({ clientId: machine.clientId, privateKey: machine.pem, algorithm: "ES256", expectedIssuer: issuer });
    const who = await whoamiV2(new TransportV2(mcpUrl, { authProvider }));
    expect(who.client.clientId).toBe(machine.clientId);
  });

  it("CrossAppAccessProvider: an ID-JAG from the enterprise IdP becomes a token for the person", async () => {
    const idp = await new FakeIdentityProvider("idp.example").listen();
    await idp.rotate("ES256");
    server.services.oauth.keySets.useNetwork(hostedNetwork(idp));
    await addIdentityProvider(server.services, { issuer: idp.issuer, jwksUri: idp.jwksUri, allowNewUsers: true }, OPERATOR);
    const machine = await secretClient("sdk v2 cross-app", ["jwt-bearer"]);
    const seen: Array<{ authorizationServerUrl: string; resourceUrl: string }> = [];
    const authProvider = new CrossAppAccessProvider({
      clientId: machine.clientId,
      clientSecret: machine.secret,
      expectedIssuer: issuer,
      // What the client would get from its IdP by RFC 8693 token exchange (ext-auth §4); here the fake IdP signs it.
      assertion: async ({ authorizationServerUrl, resourceUrl }) => {
        seen.push({ authorizationServerUrl: String(authorizationServerUrl), resourceUrl: String(resourceUrl) });
        return idp.idJag({ email: "xaa-person@corp.example", clientId: machine.clientId, aud: issuer, resource: String(resourceUrl) });
      },
    });
    const who = await whoamiV2(new TransportV2(mcpUrl, { authProvider }));
    expect(who.user?.email).toBe("xaa-person@corp.example");
    expect(who.client.clientId).toBe(machine.clientId);
    expect(seen[0].resourceUrl).toBe(mcpUrl.href);
  });
});
