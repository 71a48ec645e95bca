/**
 * The MCP SDK client against both transports, authorized by a bearer token: what a caller sees and can do.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { mintAccessToken } from "../helpers/tokens.ts";
import { connectSse, connectStreamable, structured, toolText } from "../helpers/mcp.ts";
import { rememberConsent } from "../../server/oauth/consents.ts";

const ADMIN_TOOLS = ["admin_analytics_summary", "admin_list_clients", "admin_revoke_client_tokens", "admin_security_events"];
const USER_TOOLS = ["list_connected_apps", "revoke_connected_app", "whoami"];

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

describe.each([
  ["Streamable HTTP", connectStreamable],
  ["HTTP+SSE", connectSse],
] as const)("MCP 2025-11-25 tools over %s", (_name, connect) => {
  it("lists the ordinary tools, with schemas and annotations, and no admin tools for a user", async () => {
    const minted = await mintAccessToken(server.services.prisma, server.env.APP_URL, { name: "Ada Lovelace" });
    const client = await connect(server.url, minted.token);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(USER_TOOLS);
    const whoami = tools.find((t) => t.name === "whoami")!;
    expect(whoami.annotations).toMatchObject({ readOnlyHint: true });
    expect(whoami.inputSchema.type).toBe("object");
    const revoke = tools.find((t) => t.name === "revoke_connected_app")!;
    expect(revoke.annotations).toMatchObject({ destructiveHint: true, readOnlyHint: false });
    expect(revoke.inputSchema.required).toEqual(["grantId"]);
  });

  it("whoami names the person, the client, the scopes and the expiry", async () => {
    const minted = await mintAccessToken(server.services.prisma, server.env.APP_URL, {
      name: "Grace Hopper",
      clientName: "Inspector",
    });
    const client = await connect(server.url, minted.token);
    const me = structured<{ user: { email: string; name: string; role: string }; client: { name: string; clientId: string }; scopes: string[]; tokenExpiresAt: string }>(
      await client.callTool({ name: "whoami", arguments: {} }),
    );
    expect(me.user).toMatchObject({ email: minted.email, name: "Grace Hopper", role: "USER" });
    expect(me.client).toEqual({ name: "Inspector", clientId: minted.clientId });
    expect(me.scopes).toEqual(["mcp:tools"]);
    expect(new Date(me.tokenExpiresAt).getTime()).toBeGreaterThan(Date.now());
  });

  it("shows admin tools to an ADMIN with the mcp:admin scope, and they work", async () => {
    const minted = await mintAccessToken(server.services.prisma, server.env.APP_URL, { role: "ADMIN", scope: "mcp:tools mcp:admin" });
    const client = await connect(server.url, minted.token);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([...ADMIN_TOOLS, ...USER_TOOLS].sort());
    const clients = structured<{ clients: Array<{ clientId: string }> }>(
      await client.callTool({ name: "admin_list_clients", arguments: { limit: 100 } }),
    );
    expect(clients.clients.map((c) => c.clientId)).toContain(minted.clientId);
    const summary = structured<{ requests: { requests: number } }>(
      await client.callTool({ name: "admin_analytics_summary", arguments: { hours: 1 } }),
    );
    expect(summary.requests.requests).toBeGreaterThanOrEqual(0);
    const events = structured<{ events: unknown[] }>(await client.callTool({ name: "admin_security_events", arguments: { limit: 5 } }));
    expect(Array.isArray(events.events)).toBe(true);
  });
});

describe("Admin tools need the mcp:admin scope AND the ADMIN role", () => {
  it("hides them from an ADMIN whose token lacks mcp:admin, and from a USER whose token has it", async () => {
    const adminWithoutScope = await mintAccessToken(server.services.prisma, server.env.APP_URL, { role: "ADMIN", scope: "mcp:tools" });
    const userWithScope = await mintAccessToken(server.services.prisma, server.env.APP_URL, { role: "USER", scope: "mcp:tools mcp:admin" });
    for (const minted of [adminWithoutScope, userWithScope]) {
      const client = await connectStreamable(server.url, minted.token);
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual(USER_TOOLS);
    }
    // An unknown tool is a JSON-RPC error (-32602), which the client throws (MCP §Tools, Error Handling).
    const client = await connectStreamable(server.url, userWithScope.token);
    await expect(client.callTool({ name: "admin_list_clients", arguments: {} })).rejects.toThrow(/not found/i);
  });

  it("refuses an admin tool once the caller is demoted, even with a cached token", async () => {
    const minted = await mintAccessToken(server.services.prisma, server.env.APP_URL, { role: "ADMIN", scope: "mcp:tools mcp:admin" });
    const client = await connectStreamable(server.url, minted.token);
    await client.listTools();
    await server.services.prisma.user.update({ where: { id: minted.userId }, data: { role: "USER" } });
    const result = await client.callTool({ name: "admin_list_clients", arguments: {} });
    expect(result.isError).toBe(true);
    expect(toolText(result)).toMatch(/administrators/i);
  });
});

describe("Tool arguments are validated (MCP 2025-11-25 §Tools, error handling)", () => {
  it("answers a bad argument with an isError result naming the field", async () => {
    const minted = await mintAccessToken(server.services.prisma, server.env.APP_URL);
    const client = await connectStreamable(server.url, minted.token);
    const result = await client.callTool({ name: "list_connected_apps", arguments: { limit: 1000 } });
    expect(result.isError).toBe(true);
    expect(toolText(result)).toMatch(/limit/);
    const missing = await client.callTool({ name: "revoke_connected_app", arguments: {} });
    expect(missing.isError).toBe(true);
    expect(toolText(missing)).toMatch(/grantId/);
    // An unknown cursor is not an internal error.
    const cursor = await client.callTool({ name: "list_connected_apps", arguments: { cursor: "no-such-grant" } });
    expect(toolText(cursor)).not.toMatch(/Internal error/);
  });
});

describe("Connected apps: list and revoke one's own grants", () => {
  it("lists the caller's apps and revokes one; its token stops working at once and its consent is forgotten", async () => {
    const { prisma } = server.services;
    const first = await mintAccessToken(prisma, server.env.APP_URL, { clientName: "First App" });
    const second = await mintAccessToken(prisma, server.env.APP_URL, { userId: first.userId, clientName: "Second App" });
    await rememberConsent(prisma, { userId: first.userId, clientDbId: second.clientDbId, resource: `${server.env.APP_URL}/mcp` }, ["mcp:tools"]);
    const other = await mintAccessToken(prisma, server.env.APP_URL, { clientName: "Someone else's app" });

    const client = await connectStreamable(server.url, first.token);
    const secondClient = await connectStreamable(server.url, second.token);
    await secondClient.listTools();

    const listed = structured<{ apps: Array<{ grantId: string; name: string; thisConnection: boolean }> }>(
      await client.callTool({ name: "list_connected_apps", arguments: {} }),
    );
    expect(listed.apps.map((a) => a.name).sort()).toEqual(["First App", "Second App"]);
    expect(listed.apps.find((a) => a.thisConnection)?.grantId).toBe(first.grantId);

    const denied = await client.callTool({ name: "revoke_connected_app", arguments: { grantId: other.grantId } });
    expect(denied.isError).toBe(true);
    expect(toolText(denied)).toMatch(/No active connected app/);

    const revoked = structured<{ revoked: boolean; accessTokens: number }>(
      await client.callTool({ name: "revoke_connected_app", arguments: { grantId: second.grantId } }),
    );
    expect(revoked).toMatchObject({ revoked: true, accessTokens: 1 });
    await expect(secondClient.listTools()).rejects.toThrow();
    // Like the account page: the app has to ask for consent again.
    expect(await prisma.consent.count({ where: { userId: first.userId, clientId: second.clientDbId } })).toBe(0);
    // The other person's app is untouched.
    const otherClient = await connectStreamable(server.url, other.token);
    await expect(otherClient.listTools()).resolves.toBeTruthy();
  });
});

describe("Admin revokes every token of a client", () => {
  it("revokes all grants of the client, and records the admin action", async () => {
    const { prisma } = server.services;
    const victim = await mintAccessToken(prisma, server.env.APP_URL, { clientName: "Leaky App" });
    const victimClient = await connectStreamable(server.url, victim.token);
    await victimClient.listTools();
    const admin = await mintAccessToken(prisma, server.env.APP_URL, { role: "ADMIN", scope: "mcp:tools mcp:admin" });
    const adminClient = await connectStreamable(server.url, admin.token);
    const unknown = await adminClient.callTool({ name: "admin_revoke_client_tokens", arguments: { clientId: "mcpc_nope" } });
    expect(unknown.isError).toBe(true);
    const audit: Array<{ type: string; userId?: string | null; clientId?: string | null; details?: Record<string, unknown> }> = [];
    const stop = server.services.events.on("security.event", (event) => {
      if (event.type === "ADMIN_ACTION") audit.push(event);
    });
    const result = structured<{ grants: number; accessTokens: number }>(
      await adminClient.callTool({ name: "admin_revoke_client_tokens", arguments: { clientId: victim.clientId } }),
    );
    stop();
    expect(result).toMatchObject({ grants: 1, accessTokens: 1 });
    await expect(victimClient.listTools()).rejects.toThrow();
    // The console's audit row (server/oauth/grant-admin.ts), naming the client, and which client's token did it.
    expect(audit).toEqual([
      expect.objectContaining({
        userId: admin.userId,
        clientId: victim.clientDbId,
        details: { action: "client.tokens_revoked", clientDbId: victim.clientDbId, grants: 1, via: "mcp", byClientDbId: admin.clientDbId },
      }),
    ]);
  });
});
