/**
 * RFC 6749 §4.1.2 / RFC 9700 §4.5 under concurrency: N parallel redemptions of one authorization code. The claim is
 * one conditional UPDATE in the database, so exactly one succeeds; the others are reuse, which revokes what the
 * winner got.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { DomainEvents } from "../../server/events.ts";
import type { TestServer } from "../helpers/server.ts";
import { mcpStatus, obtainCode, REDIRECT, startOAuthFixture, tokenRequest, type CookieJar, type RegisteredClient } from "./oauth-support.ts";

let server: TestServer;
let client: RegisteredClient;
let jar: CookieJar;

beforeAll(async () => {
  ({ server, client, jar } = await startOAuthFixture({ email: "racer@example.com" }));
});

describe("Concurrent redemption of one authorization code, RFC 6749 §4.1.2 (single use, atomic claim)", () => {
  it.each([2, 8, 16])("%i parallel redemptions: exactly one 200, the rest invalid_grant, and the winner's tokens are revoked", async (n) => {
    const { code, verifier } = await obtainCode(server.url, jar, client.client_id);
    const security: Array<DomainEvents["security.event"]> = [];
    const off = server.services.events.on("security.event", (e) => security.push(e));
    const results = await Promise.all(
      Array.from({ length: n }, () =>
        tokenRequest(server.url, { grant_type: "authorization_code", code, code_verifier: verifier, client_id: client.client_id, redirect_uri: REDIRECT }),
      ),
    );
    off();
    const winners = results.filter((r) => r.status === 200);
    expect(winners).toHaveLength(1);
    expect(results.filter((r) => r.status === 400 && r.body.error === "invalid_grant")).toHaveLength(n - 1);
    expect(security.filter((e) => e.type === "CODE_REUSE")).toHaveLength(n - 1);
    const grants = await server.services.prisma.grant.findMany({ where: { codes: { some: {} } }, orderBy: { createdAt: "desc" }, take: 1 });
    expect(grants[0].revokedAt).not.toBeNull();
    expect(await mcpStatus(server.url, winners[0].body.access_token as string)).toBe(401);
    // Exactly one grant and one access token came out of the code.
    const codeRow = await server.services.prisma.authorizationCode.findFirstOrThrow({ where: { grantId: grants[0].id } });
    expect(codeRow.consumedAt).not.toBeNull();
    expect(await server.services.prisma.accessToken.count({ where: { grantId: grants[0].id } })).toBe(1);
  });
});
