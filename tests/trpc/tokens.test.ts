import { beforeAll, describe, expect, it } from "vitest";
import { findAccessToken } from "../../server/oauth/tokens.ts";
import { connectApp, makeClient } from "./fixtures.ts";
import { codeOf, recordEvents, startAdminHarness, type Person, type TrpcHarness } from "./harness.ts";

let h: TrpcHarness;
let admin: Person;

beforeAll(async () => {
  ({ h, admin } = await startAdminHarness());
});

const recordRevocations = () => recordEvents(h.services, "oauth.revocation");

describe("tokens.list", () => {
  it("lists active grants by client and by user, without token values", async () => {
    const alice = await h.signIn("alice@example.com");
    const bob = await h.signIn("bob@example.com");
    const acme = await makeClient(h.services, { name: "Acme" });
    const other = await makeClient(h.services, { name: "Other" });
    const a1 = await connectApp(h.services, alice.id, acme.id);
    await connectApp(h.services, bob.id, acme.id);
    await connectApp(h.services, alice.id, other.id);

    const byClient = await admin.caller.tokens.list({ clientDbId: acme.id });
    expect(byClient.items.map((g) => g.user?.email).sort()).toEqual(["alice@example.com", "bob@example.com"]);
    expect(byClient.items[0]).toMatchObject({ clientName: "Acme", clientId: acme.clientId, scopes: ["mcp:tools"] });
    expect(JSON.stringify(byClient)).not.toContain(a1.accessToken);
    expect(JSON.stringify(byClient)).not.toContain(a1.refreshToken);

    const byUser = await admin.caller.tokens.list({ userId: alice.id });
    expect(byUser.items.map((g) => g.clientName).sort()).toEqual(["Acme", "Other"]);
  });

  it("pages with a cursor", async () => {
    const carol = await h.signIn("carol@example.com");
    const client = await makeClient(h.services, { name: "Paged" });
    for (let i = 0; i < 3; i++) await connectApp(h.services, carol.id, client.id);
    const first = await admin.caller.tokens.list({ clientDbId: client.id, limit: 2 });
    expect(first.items).toHaveLength(2);
    const second = await admin.caller.tokens.list({ clientDbId: client.id, limit: 2, cursor: first.nextCursor! });
    expect(second.items).toHaveLength(1);
    expect(second.nextCursor).toBeNull();
  });

  it("rejects a limit of 0", async () => {
    expect(await codeOf(admin.caller.tokens.list({ limit: 0 }))).toBe("BAD_REQUEST");
  });
});

describe("tokens.revoke* (RFC 7009 §2: revoking a grant invalidates its tokens)", () => {
  it("revoke: the grant's access token stops working and the caches are told", async () => {
    const dave = await h.signIn("dave@example.com");
    const client = await makeClient(h.services);
    const app = await connectApp(h.services, dave.id, client.id);
    expect(await findAccessToken(h.services.prisma, app.accessToken)).not.toBeNull();
    const events = recordRevocations();
    await expect(admin.caller.tokens.revoke({ grantId: app.grantId })).resolves.toEqual({ grants: 1, accessTokens: 1, refreshTokens: 1 });
    events.off();
    expect(events.seen).toEqual([expect.objectContaining({ grantIds: [app.grantId] })]);
    expect(await findAccessToken(h.services.prisma, app.accessToken)).toBeNull();
    expect((await h.services.prisma.grant.findUniqueOrThrow({ where: { id: app.grantId } })).revokedReason).toBe("revoked_by_admin");
    // Twice: nothing left to revoke.
    expect(await codeOf(admin.caller.tokens.revoke({ grantId: app.grantId }))).toBe("NOT_FOUND");
  });

  it("revokeForClient revokes every user's grant of that client only", async () => {
    const erin = await h.signIn("erin@example.com");
    const frank = await h.signIn("frank@example.com");
    const target = await makeClient(h.services);
    const bystander = await makeClient(h.services);
    const e1 = await connectApp(h.services, erin.id, target.id);
    const f1 = await connectApp(h.services, frank.id, target.id);
    const keep = await connectApp(h.services, erin.id, bystander.id);
    const events = recordRevocations();
    await expect(admin.caller.tokens.revokeForClient({ clientDbId: target.id })).resolves.toMatchObject({ grants: 2 });
    events.off();
    expect(events.seen[0]).toMatchObject({ clientIds: [target.id] });
    expect(await findAccessToken(h.services.prisma, e1.accessToken)).toBeNull();
    expect(await findAccessToken(h.services.prisma, f1.accessToken)).toBeNull();
    expect(await findAccessToken(h.services.prisma, keep.accessToken)).not.toBeNull();
    expect(await codeOf(admin.caller.tokens.revokeForClient({ clientDbId: "nope" }))).toBe("NOT_FOUND");
  });

  it("revokeForUser revokes every grant of that user only", async () => {
    const gina = await h.signIn("gina@example.com");
    const hank = await h.signIn("hank@example.com");
    const client = await makeClient(h.services);
    const g1 = await connectApp(h.services, gina.id, client.id);
    const h1 = await connectApp(h.services, hank.id, client.id);
    const events = recordRevocations();
    await expect(admin.caller.tokens.revokeForUser({ userId: gina.id })).resolves.toMatchObject({ grants: 1 });
    events.off();
    expect(events.seen[0]).toMatchObject({ userIds: [gina.id] });
    expect(await findAccessToken(h.services.prisma, g1.accessToken)).toBeNull();
    expect(await findAccessToken(h.services.prisma, h1.accessToken)).not.toBeNull();
    expect(await codeOf(admin.caller.tokens.revokeForUser({ userId: "nope" }))).toBe("NOT_FOUND");
  });

  it("bad input is BAD_REQUEST", async () => {
    expect(await codeOf(admin.caller.tokens.revoke({ grantId: "" }))).toBe("BAD_REQUEST");
    expect(await codeOf(admin.caller.tokens.revokeForClient({} as { clientDbId: string }))).toBe("BAD_REQUEST");
  });
});
