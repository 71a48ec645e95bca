/**
 * The console's machine clients and trusted identity providers (issue 15): `clients.createMachine` (secret once, or
 * keys; never a redirect URI) and `identityProviders.*`, each an admin action with an audit event. Role checks for
 * every procedure are in access.test.ts.
 */
import { exportJWK, generateKeyPair } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { verifyClientSecret } from "../../server/oauth/client-secrets.ts";
import { codeOf, recordEvents, startAdminHarness, type Person, type TrpcHarness } from "./harness.ts";

let h: TrpcHarness;
let admin: Person;

beforeAll(async () => {
  ({ h, admin } = await startAdminHarness());
});

describe("clients.createMachine", () => {
  it("creates a client_credentials client with a secret returned once and stored as a digest", async () => {
    const audit = recordEvents(h.services, "security.event");
    const { client, clientSecret } = await admin.caller.clients.createMachine({ name: "CI", grantTypes: ["client_credentials"], authMethod: "client_secret_basic", scopes: ["mcp:tools"] });
    audit.off();
    expect(client).toMatchObject({ grantTypes: ["client_credentials"], redirectUris: [], tokenEndpointAuthMethod: "client_secret_basic", type: "confidential" });
    const row = await h.services.prisma.client.findUniqueOrThrow({ where: { id: client.id } });
    expect(verifyClientSecret(clientSecret!, row.clientSecretHash)).toBe(true);
    expect(JSON.stringify(row)).not.toContain(clientSecret!);
    expect(audit.seen).toEqual([expect.objectContaining({ type: "ADMIN_ACTION", details: expect.objectContaining({ action: "client.created", type: "machine" }) })]);
    // No secret to rotate for a key client; this one has one.
    await expect(admin.caller.clients.rotateSecret({ id: client.id })).resolves.toHaveProperty("clientSecret");
  });

  it("creates a private_key_jwt client from a pasted JWK Set (no secret), refusing private keys and bad JSON", async () => {
    const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
    const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: "1" }] });
    const { client, clientSecret } = await admin.caller.clients.createMachine({ name: "Agent", grantTypes: ["client_credentials"], authMethod: "private_key_jwt", jwks, scopes: ["mcp:tools"] });
    expect(clientSecret).toBeNull();
    expect(client.inlineKeys).toBe(1);
    expect(await codeOf(admin.caller.clients.rotateSecret({ id: client.id }))).toBe("PRECONDITION_FAILED");
    const withPrivate = JSON.stringify({ keys: [{ ...(await exportJWK(privateKey)), kid: "p" }] });
    expect(await codeOf(admin.caller.clients.createMachine({ name: "Bad", grantTypes: ["client_credentials"], authMethod: "private_key_jwt", jwks: withPrivate, scopes: ["mcp:tools"] }))).toBe("BAD_REQUEST");
    expect(await codeOf(admin.caller.clients.createMachine({ name: "Bad", grantTypes: ["client_credentials"], authMethod: "private_key_jwt", jwks: "{", scopes: ["mcp:tools"] }))).toBe("BAD_REQUEST");
    expect(await codeOf(admin.caller.clients.createMachine({ name: "Bad", grantTypes: ["client_credentials"], authMethod: "private_key_jwt", jwksUri: "http://insecure.example/jwks", scopes: ["mcp:tools"] }))).toBe("BAD_REQUEST");
  });
});

describe("identityProviders", () => {
  it("add → list → disable → remove, each audited", async () => {
    const audit = recordEvents(h.services, "security.event");
    await admin.caller.identityProviders.add({ issuer: "https://login.corp.example", jwksUri: "https://login.corp.example/keys", allowNewUsers: false });
    expect(await codeOf(admin.caller.identityProviders.add({ issuer: "https://login.corp.example", jwksUri: "https://login.corp.example/keys" }))).toBe("CONFLICT");
    expect(await admin.caller.identityProviders.list()).toEqual([expect.objectContaining({ issuer: "https://login.corp.example", disabled: false, activeGrants: 0 })]);
    await admin.caller.identityProviders.setDisabled({ issuer: "https://login.corp.example", disabled: true });
    expect((await admin.caller.identityProviders.list())[0].disabled).toBe(true);
    // Its events are the ones naming its issuer (refused ID-JAGs and, once recorded, these admin actions), no others.
    const events = (await admin.caller.identityProviders.events({ issuer: "https://login.corp.example" })).items;
    expect(events.every((e) => (e.details as { issuer?: string }).issuer === "https://login.corp.example")).toBe(true);
    await admin.caller.identityProviders.remove({ issuer: "https://login.corp.example" });
    expect(await admin.caller.identityProviders.list()).toEqual([]);
    audit.off();
    expect(audit.seen.map((e) => (e.details as { action: string }).action)).toEqual(["identity_provider.added", "identity_provider.disabled", "identity_provider.removed"]);
  });

  it("refuses an issuer that is not https, and both or neither of a JWKS URI and a JWK Set", async () => {
    expect(await codeOf(admin.caller.identityProviders.add({ issuer: "http://idp.example", jwksUri: "https://idp.example/keys" }))).toBe("BAD_REQUEST");
    expect(await codeOf(admin.caller.identityProviders.add({ issuer: "https://idp.example" }))).toBe("BAD_REQUEST");
    expect(await codeOf(admin.caller.identityProviders.remove({ issuer: "https://nobody.example" }))).toBe("NOT_FOUND");
  });
});
