/**
 * Issue 18: the sweep of expired codes, tokens, grants and sessions works in bounded slices (server/oauth/
 * expired-sweep.ts): a backlog many times the slice size is cleared by one run, live rows stay.
 */
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { sweepExpiredSessions } from "../../server/oauth/expired-sweep.ts";
import { startTestServer } from "../helpers/server.ts";

const hash = () => randomBytes(32).toString("hex");
const DAY = 86_400_000;

describe("expired-data sweep in bounded slices", () => {
  it("clears a backlog several slices deep in one run and keeps what is live", async () => {
    const server = await startTestServer();
    const { prisma, db } = server.services;
    const user = await prisma.user.create({ data: { email: "sweep@example.com" } });
    const client = await prisma.client.create({ data: { clientId: "mcpc_sweep", name: "Sweep", scope: "mcp:tools", redirectUris: ["https://s.example/cb"] } });
    const now = Date.now();
    const old = new Date(now - 3 * DAY);
    const live = new Date(now + 3600_000);
    const base = { clientId: client.id, userId: user.id, scope: "mcp:tools", resource: "http://r.example/mcp" };
    // 12 old grants whose tokens all expired two days ago, and one live grant.
    const grants = await Promise.all(Array.from({ length: 13 }, (_, i) => prisma.grant.create({ data: { ...base, createdAt: i < 12 ? old : new Date() } })));
    for (const [i, grant] of grants.entries()) {
      const expiresAt = i < 12 ? new Date(now - 2 * DAY) : live;
      await prisma.accessToken.createMany({ data: [0, 1].map(() => ({ ...base, grantId: grant.id, tokenHash: hash(), expiresAt })) });
      await prisma.refreshToken.create({ data: { ...base, grantId: grant.id, tokenHash: hash(), expiresAt } });
      await prisma.authorizationCode.create({
        data: { ...base, grantId: grant.id, codeHash: hash(), redirectUri: "https://s.example/cb", codeChallenge: "x".repeat(43), expiresAt },
      });
    }
    // A code expired an hour ago is kept for a day (late reuse is still detected).
    await prisma.authorizationCode.create({
      data: { ...base, codeHash: hash(), redirectUri: "https://s.example/cb", codeChallenge: "x".repeat(43), expiresAt: new Date(now - 3600_000) },
    });

    const swept = await server.services.oauth.sweep(new Date(now), { slice: 5 });
    expect(swept).toMatchObject({ codes: 12, accessTokens: 24, refreshTokens: 12, grants: 12 });
    expect(await prisma.accessToken.count()).toBe(2);
    expect(await prisma.refreshToken.count()).toBe(1);
    expect(await prisma.authorizationCode.count()).toBe(2);
    expect((await prisma.grant.findMany()).map((g) => g.id)).toEqual([grants[12].id]);

    await prisma.session.createMany({
      data: Array.from({ length: 11 }, (_, i) => ({ userId: user.id, sessionTokenHash: hash(), expires: i < 10 ? old : live })),
    });
    expect(await sweepExpiredSessions(db.pool, new Date(now), 3)).toBe(10);
    expect(await prisma.session.count()).toBe(1);
  });
});
