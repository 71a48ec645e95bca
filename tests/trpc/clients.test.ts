import { TRPCError } from "@trpc/server";
import { beforeAll, describe, expect, it } from "vitest";
import { verifyClientSecret } from "../../server/oauth/client-secrets.ts";
import { findAccessToken } from "../../server/oauth/tokens.ts";
import type { DomainEvents } from "../../server/events.ts";
import { connectApp, makeClient } from "./fixtures.ts";
import { codeOf, recordEvents, startAdminHarness, type Person, type TrpcHarness } from "./harness.ts";

let h: TrpcHarness;
let admin: Person;

beforeAll(async () => {
  ({ h, admin } = await startAdminHarness());
});

async function errorOf(p: Promise<unknown>): Promise<TRPCError> {
  const error = await p.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(TRPCError);
  return error as TRPCError;
}

const record = <K extends keyof DomainEvents>(name: K) => recordEvents(h.services, name);

const valid = { name: "Reporting tool", redirectUris: ["https://reports.example/callback"], scopes: ["mcp:tools"] };

describe("clients.create (manual clients, RFC 7591 §2 rules)", () => {
  it("creates a confidential client: the secret is returned once and stored as a digest", async () => {
    const registered = record("oauth.client.registered");
    const { client, clientSecret } = await admin.caller.clients.create({ ...valid, type: "confidential" });
    registered.off();
    expect(client).toMatchObject({ name: "Reporting tool", kind: "MANUAL", type: "confidential", tokenEndpointAuthMethod: "client_secret_basic" });
    expect(client.clientId).toMatch(/^mcpc_/);
    expect(clientSecret).toMatch(/^mcpcs_/);
    const row = await h.services.prisma.client.findUniqueOrThrow({ where: { id: client.id } });
    expect(row.clientSecretHash).not.toContain(clientSecret!);
    expect(verifyClientSecret(clientSecret!, row.clientSecretHash)).toBe(true);
    expect(row.createdById).toBe(admin.id);
    expect(JSON.stringify(row.metadata)).not.toContain(clientSecret!);
    expect(registered.seen).toEqual([{ clientId: client.id, kind: "manual" }]);
    // Never again: the details do not carry it.
    expect(JSON.stringify(await admin.caller.clients.get({ id: client.id }))).not.toContain(clientSecret!);
  });

  it("creates a public client without a secret", async () => {
    const { client, clientSecret } = await admin.caller.clients.create({ ...valid, type: "public" });
    expect(clientSecret).toBeNull();
    expect(client).toMatchObject({ type: "public", tokenEndpointAuthMethod: "none" });
  });

  it("refuses redirect URIs the registration endpoint refuses (RFC 9700 §4.1.3, RFC 8252 §7.3)", async () => {
    for (const uri of ["http://evil.example/cb", "javascript:alert(1)", "https://app.example/cb#frag", "https://*.example/cb"]) {
      const error = await errorOf(admin.caller.clients.create({ ...valid, type: "public", redirectUris: [uri] }));
      expect(error.code, uri).toBe("BAD_REQUEST");
    }
    await expect(admin.caller.clients.create({ ...valid, type: "public", redirectUris: ["http://127.0.0.1/cb"] })).resolves.toBeTruthy();
  });

  it("refuses unknown scopes, an empty name, and no redirect URI", async () => {
    const scope = await errorOf(admin.caller.clients.create({ ...valid, type: "public", scopes: ["root"] }));
    expect(scope.code).toBe("BAD_REQUEST");
    expect(scope.message).toContain("unsupported scope root");
    expect(await codeOf(admin.caller.clients.create({ ...valid, type: "public", name: "   " }))).toBe("BAD_REQUEST");
    expect(await codeOf(admin.caller.clients.create({ ...valid, type: "public", redirectUris: [] }))).toBe("BAD_REQUEST");
    expect(await codeOf(admin.caller.clients.create({ ...valid, type: "secret" as "public" }))).toBe("BAD_REQUEST");
  });
});

describe("clients.list / clients.get", () => {
  it("searches by name or client_id, filters by kind and status, pages both ways", async () => {
    const a = await makeClient(h.services, { name: "Searchable Alpha" });
    await makeClient(h.services, { name: "Searchable Beta", kind: "METADATA_DOCUMENT", clientId: "https://beta.example/client.json" });
    const c = await makeClient(h.services, { name: "Searchable Gamma" });
    await h.services.prisma.client.update({ where: { id: c.id }, data: { disabled: true } });

    expect((await admin.caller.clients.list({ search: "searchable" })).total).toBe(3);
    expect((await admin.caller.clients.list({ search: a.clientId })).items.map((x) => x.name)).toEqual(["Searchable Alpha"]);
    expect((await admin.caller.clients.list({ search: "searchable", kind: "METADATA_DOCUMENT" })).items.map((x) => x.name)).toEqual([
      "Searchable Beta",
    ]);
    expect((await admin.caller.clients.list({ search: "searchable", status: "disabled" })).items.map((x) => x.name)).toEqual([
      "Searchable Gamma",
    ]);

    const first = await admin.caller.clients.list({ search: "searchable", limit: 2 });
    expect(first.items.map((x) => x.name)).toEqual(["Searchable Gamma", "Searchable Beta"]);
    const second = await admin.caller.clients.list({ search: "searchable", limit: 2, cursor: first.nextCursor! });
    expect(second.items.map((x) => x.name)).toEqual(["Searchable Alpha"]);
    expect(second.nextCursor).toBeNull();
    const back = await admin.caller.clients.list({ search: "searchable", limit: 2, cursor: second.prevCursor!, direction: "backward" });
    expect(back.items.map((x) => x.name)).toEqual(["Searchable Gamma", "Searchable Beta"]);
    expect(back.prevCursor).toBeNull();
  });

  it("get shows metadata, redirect URIs, grant and token counts, last use", async () => {
    const client = await makeClient(h.services, { name: "Counted" });
    const u1 = await h.signIn("count-1@example.com");
    const u2 = await h.signIn("count-2@example.com");
    await connectApp(h.services, u1.id, client.id);
    const revoked = await connectApp(h.services, u1.id, client.id);
    await connectApp(h.services, u2.id, client.id);
    await admin.caller.tokens.revoke({ grantId: revoked.grantId });
    const details = await admin.caller.clients.get({ id: client.id });
    expect(details).toMatchObject({
      name: "Counted",
      redirectUris: ["https://app.example/callback"],
      scopes: ["mcp:tools"],
      counts: { activeGrants: 2, revokedGrants: 1, users: 2, activeAccessTokens: 2, activeRefreshTokens: 2, consents: 2 },
    });
    expect(await codeOf(admin.caller.clients.get({ id: "missing" }))).toBe("NOT_FOUND");
  });
});

describe("clients.update", () => {
  it("changes name, redirect URIs and scopes, with the registration rules", async () => {
    const { client } = await admin.caller.clients.create({ ...valid, type: "public" });
    const updated = await admin.caller.clients.update({
      id: client.id,
      name: "Renamed",
      redirectUris: ["https://reports.example/cb2", "http://localhost:8080/cb"],
      scopes: ["mcp:admin", "mcp:tools"],
    });
    expect(updated).toMatchObject({ name: "Renamed", redirectUris: ["https://reports.example/cb2", "http://localhost:8080/cb"], scopes: ["mcp:tools", "mcp:admin"] });
    expect(await codeOf(admin.caller.clients.update({ id: client.id, redirectUris: ["http://evil.example/cb"] }))).toBe("BAD_REQUEST");
    expect(await codeOf(admin.caller.clients.update({ id: client.id }))).toBe("BAD_REQUEST");
    expect(await codeOf(admin.caller.clients.update({ id: "missing", name: "x" }))).toBe("NOT_FOUND");
  });

  it("refuses to edit a metadata-document client", async () => {
    const client = await makeClient(h.services, { kind: "METADATA_DOCUMENT", clientId: "https://doc.example/client.json" });
    expect(await codeOf(admin.caller.clients.update({ id: client.id, name: "x" }))).toBe("PRECONDITION_FAILED");
  });
});

describe("clients.rotateSecret", () => {
  it("replaces the secret of a confidential client: the old one stops matching", async () => {
    const { client, clientSecret } = await admin.caller.clients.create({ ...valid, type: "confidential" });
    const { clientSecret: fresh } = await admin.caller.clients.rotateSecret({ id: client.id });
    expect(fresh).toMatch(/^mcpcs_/);
    expect(fresh).not.toBe(clientSecret);
    const row = await h.services.prisma.client.findUniqueOrThrow({ where: { id: client.id } });
    expect(verifyClientSecret(fresh, row.clientSecretHash)).toBe(true);
    expect(verifyClientSecret(clientSecret!, row.clientSecretHash)).toBe(false);
    expect(row.secretRotatedAt).toBeInstanceOf(Date);
  });

  it("refuses a public client", async () => {
    const { client } = await admin.caller.clients.create({ ...valid, type: "public" });
    expect(await codeOf(admin.caller.clients.rotateSecret({ id: client.id }))).toBe("PRECONDITION_FAILED");
  });
});

describe("clients.setDisabled / clients.delete", () => {
  it("disable refuses the client's tokens and tells the caches; enable restores them", async () => {
    const client = await makeClient(h.services);
    const user = await h.signIn("disabled-client-user@example.com");
    const app = await connectApp(h.services, user.id, client.id);
    const revocations = record("oauth.revocation");
    await expect(admin.caller.clients.setDisabled({ id: client.id, disabled: true })).resolves.toEqual({ disabled: true });
    revocations.off();
    expect(revocations.seen).toEqual([{ clientIds: [client.id, client.clientId] }]);
    expect(await findAccessToken(h.services.prisma, app.accessToken)).toBeNull();
    expect((await admin.caller.clients.list({ search: client.clientId })).items[0].disabled).toBe(true);
    await admin.caller.clients.setDisabled({ id: client.id, disabled: false });
    expect(await findAccessToken(h.services.prisma, app.accessToken)).not.toBeNull();
  });

  it("delete revokes the client's tokens first, then removes it", async () => {
    const client = await makeClient(h.services);
    const user = await h.signIn("deleted-client-user@example.com");
    const app = await connectApp(h.services, user.id, client.id);
    const revocations = record("oauth.revocation");
    await expect(admin.caller.clients.delete({ id: client.id })).resolves.toEqual({ grants: 1, accessTokens: 1, refreshTokens: 1 });
    revocations.off();
    expect(revocations.seen[0]).toMatchObject({ grantIds: [app.grantId], clientIds: [client.id] });
    expect(await findAccessToken(h.services.prisma, app.accessToken)).toBeNull();
    expect(await h.services.prisma.client.count({ where: { id: client.id } })).toBe(0);
    expect(await codeOf(admin.caller.clients.delete({ id: client.id }))).toBe("NOT_FOUND");
  });

  it("every change is audited as an ADMIN_ACTION naming the client", async () => {
    const client = await makeClient(h.services);
    const audit = record("security.event");
    await admin.caller.clients.setDisabled({ id: client.id, disabled: true });
    audit.off();
    expect(audit.seen).toEqual([
      expect.objectContaining({ type: "ADMIN_ACTION", userId: admin.id, clientId: client.id, details: { action: "client.disabled", clientDbId: client.id } }),
    ]);
  });

  it("bad input is BAD_REQUEST", async () => {
    expect(await codeOf(admin.caller.clients.setDisabled({ id: "x", disabled: "yes" as unknown as boolean }))).toBe("BAD_REQUEST");
  });
});
