import { beforeAll, describe, expect, it } from "vitest";
import { findAccessToken } from "../../server/oauth/tokens.ts";
import { connectApp, makeClient } from "./fixtures.ts";
import { codeOf, startTrpcHarness, type TrpcHarness } from "./harness.ts";

let h: TrpcHarness;

beforeAll(async () => {
  h = await startTrpcHarness();
});

describe("me", () => {
  it("profile says who is signed in", async () => {
    const ivy = await h.signIn("ivy@example.com");
    await expect(ivy.caller.me.profile()).resolves.toMatchObject({ id: ivy.id, email: "ivy@example.com", role: "USER" });
  });

  it("grants lists only the caller's own connected apps", async () => {
    const jack = await h.signIn("jack@example.com");
    const kim = await h.signIn("kim@example.com");
    const client = await makeClient(h.services, { name: "Notes app" });
    await connectApp(h.services, jack.id, client.id);
    await connectApp(h.services, kim.id, client.id);
    const grants = await jack.caller.me.grants();
    expect(grants).toHaveLength(1);
    expect(grants[0]).toMatchObject({ userId: jack.id, clientName: "Notes app", scopes: ["mcp:tools"] });
  });

  it("revokeGrant revokes the caller's grant, forgets the consent, and refuses other people's grants", async () => {
    const lee = await h.signIn("lee@example.com");
    const mia = await h.signIn("mia@example.com");
    const client = await makeClient(h.services);
    const lees = await connectApp(h.services, lee.id, client.id);
    const mias = await connectApp(h.services, mia.id, client.id);

    expect(await codeOf(lee.caller.me.revokeGrant({ grantId: mias.grantId }))).toBe("NOT_FOUND");
    expect(await findAccessToken(h.services.prisma, mias.accessToken)).not.toBeNull();

    const revocations: unknown[] = [];
    const off = h.services.events.on("oauth.revocation", (e) => revocations.push(e));
    await expect(lee.caller.me.revokeGrant({ grantId: lees.grantId })).resolves.toEqual({ grants: 1, accessTokens: 1, refreshTokens: 1 });
    off();
    expect(revocations).toEqual([expect.objectContaining({ grantIds: [lees.grantId] })]);
    expect(await findAccessToken(h.services.prisma, lees.accessToken)).toBeNull();
    expect(await h.services.prisma.consent.count({ where: { userId: lee.id, clientId: client.id } })).toBe(0);
    expect(await h.services.prisma.consent.count({ where: { userId: mia.id, clientId: client.id } })).toBe(1);
    expect(await lee.caller.me.grants()).toEqual([]);
    expect((await h.services.prisma.grant.findUniqueOrThrow({ where: { id: lees.grantId } })).revokedReason).toBe("revoked_by_user");
  });

  it("revokeGrant needs a grant id", async () => {
    const ned = await h.signIn("ned@example.com");
    expect(await codeOf(ned.caller.me.revokeGrant({ grantId: "" }))).toBe("BAD_REQUEST");
  });
});
