/**
 * server/oauth/grants.ts: listing active grants (never a token value) and the revocation functions the admin
 * console and the user's connected-apps page build on. Every revocation emits `oauth.revocation` (the MCP token
 * cache) and `oauth.token.revoked`.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { listActiveGrants, revokeGrant, revokeGrantsForClient, revokeGrantsForUser } from "../../server/oauth/grants.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { collectEvents, issueTokens, mcpStatus, publicClient, register, signIn, type RegisteredClient } from "./oauth-support.ts";
import { findAccessToken } from "../../server/oauth/tokens.ts";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ RATE_LIMIT_ENABLED: "false" });
});

async function ids(client: RegisteredClient, email: string) {
  const dbClient = await server.services.prisma.client.findUniqueOrThrow({ where: { clientId: client.client_id } });
  const user = await server.services.prisma.user.findUniqueOrThrow({ where: { email } });
  return { clientDbId: dbClient.id, userId: user.id };
}

describe("listActiveGrants", () => {
  it("lists live grants with client name, scopes, resource and dates, newest first, paginated, without token values", async () => {
    // Three clients: a second authorization of the same client widens its grant instead of adding one.
    const clients = [];
    for (let i = 0; i < 3; i++) clients.push(await register(server.url, publicClient({ client_name: "Lister" })));
    const client = clients[2]!;
    const jar = await signIn(server.url, "lister@example.com");
    const issued = [];
    for (const each of clients) issued.push(await issueTokens(server.url, jar, each));
    const { clientDbId, userId } = await ids(client, "lister@example.com");

    const page1 = await listActiveGrants(server.services, { userId, take: 2 });
    expect(page1.items).toHaveLength(2);
    expect(page1.nextCursor).toBeTruthy();
    const page2 = await listActiveGrants(server.services, { userId, take: 2, cursor: page1.nextCursor! });
    expect(page2.items).toHaveLength(1);
    expect(page2.nextCursor).toBeNull();
    const all = [...page1.items, ...page2.items];
    expect(all[0]).toMatchObject({
      userId,
      user: { email: "lister@example.com" },
      clientDbId,
      clientId: client.client_id,
      clientName: "Lister",
      scopes: ["mcp:tools"],
      resource: `${server.env.APP_URL}/mcp`,
      createdAt: expect.any(Date),
    });
    expect(all[0].createdAt.getTime()).toBeGreaterThanOrEqual(all[2].createdAt.getTime());
    const text = JSON.stringify(all);
    for (const t of issued) {
      expect(text).not.toContain(t.access_token);
      expect(text).not.toContain(t.refresh_token);
    }
    expect((await listActiveGrants(server.services, { clientDbId, take: 10 })).items).toHaveLength(1);
  });
});

describe("revokeGrant / revokeGrantsForClient / revokeGrantsForUser", () => {
  it("revokeGrant revokes the grant's tokens and emits oauth.revocation + oauth.token.revoked; userId restricts to own grants", async () => {
    const client = await register(server.url, publicClient());
    const jar = await signIn(server.url, "owner@example.com");
    const tokens = await issueTokens(server.url, jar, client);
    const { userId } = await ids(client, "owner@example.com");
    const [grant] = (await listActiveGrants(server.services, { userId, take: 1 })).items;

    await signIn(server.url, "stranger@example.com");
    const strangerId = (await server.services.prisma.user.findUniqueOrThrow({ where: { email: "stranger@example.com" } })).id;
    expect(await revokeGrant(server.services, grant.id, "revoked_by_user", { userId: strangerId })).toEqual({ grants: 0, accessTokens: 0, refreshTokens: 0 });
    expect(await mcpStatus(server.url, tokens.access_token as string)).toBe(200);

    const revocation = collectEvents(server, "oauth.revocation");
    const revoked = collectEvents(server, "oauth.token.revoked");
    expect(await revokeGrant(server.services, grant.id, "revoked_by_user", { userId })).toEqual({ grants: 1, accessTokens: 1, refreshTokens: 1 });
    revocation.stop();
    revoked.stop();
    expect(revocation.events).toEqual([{ grantIds: [grant.id] }]);
    expect(revoked.events).toEqual([expect.objectContaining({ kind: "grant", count: 2, userId })]);
    expect(await mcpStatus(server.url, tokens.access_token as string)).toBe(401);
    const row = await server.services.prisma.grant.findUniqueOrThrow({ where: { id: grant.id } });
    expect(row.revokedReason).toBe("revoked_by_user");
    expect(await revokeGrant(server.services, grant.id, "again")).toEqual({ grants: 0, accessTokens: 0, refreshTokens: 0 });
  });

  it("revokeGrantsForClient revokes every grant of the client (clientIds in the event)", async () => {
    const client = await register(server.url, publicClient());
    const a = await issueTokens(server.url, await signIn(server.url, "a@example.com"), client);
    const b = await issueTokens(server.url, await signIn(server.url, "b@example.com"), client);
    const { clientDbId } = await ids(client, "a@example.com");
    const revocation = collectEvents(server, "oauth.revocation");
    const counts = await revokeGrantsForClient(server.services, clientDbId, "client_disabled");
    revocation.stop();
    expect(counts).toEqual({ grants: 2, accessTokens: 2, refreshTokens: 2 });
    expect(revocation.events[0]).toMatchObject({ clientIds: [clientDbId], grantIds: expect.arrayContaining([expect.any(String)]) });
    expect(await mcpStatus(server.url, a.access_token as string)).toBe(401);
    expect(await mcpStatus(server.url, b.access_token as string)).toBe(401);
  });

  it("revokeGrantsForUser revokes every grant of the user across clients (userIds in the event)", async () => {
    const one = await register(server.url, publicClient());
    const two = await register(server.url, publicClient());
    const jar = await signIn(server.url, "leaver@example.com");
    const t1 = await issueTokens(server.url, jar, one);
    const t2 = await issueTokens(server.url, jar, two);
    const other = await issueTokens(server.url, await signIn(server.url, "stayer@example.com"), one);
    const { userId } = await ids(one, "leaver@example.com");
    const revocation = collectEvents(server, "oauth.revocation");
    expect(await revokeGrantsForUser(server.services, userId, "user_removed")).toMatchObject({ grants: 2 });
    revocation.stop();
    expect(revocation.events[0]).toMatchObject({ userIds: [userId] });
    expect(await mcpStatus(server.url, t1.access_token as string)).toBe(401);
    expect(await mcpStatus(server.url, t2.access_token as string)).toBe(401);
    expect(await mcpStatus(server.url, other.access_token as string)).toBe(200);
  });

  it("the free functions the console and the MCP tools call list, revoke and look up (no second way in)", async () => {
    const client = await register(server.url, publicClient());
    const tokens = await issueTokens(server.url, await signIn(server.url, "svc@example.com"), client);
    const { userId } = await ids(client, "svc@example.com");
    const page = await listActiveGrants(server.services, { userId, take: 5 });
    expect(page.items).toHaveLength(1);
    expect(await revokeGrant(server.services, page.items[0].id, "revoked_by_admin")).toMatchObject({ grants: 1 });
    expect(await findAccessToken(server.services.db.pool, tokens.access_token as string)).toBeNull();
  });
});
