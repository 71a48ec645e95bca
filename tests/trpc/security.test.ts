import { beforeAll, describe, expect, it } from "vitest";
import { ADMIN_EMAIL, codeOf, startAdminHarness, type Person, type TrpcHarness } from "./harness.ts";

let h: TrpcHarness;
let admin: Person;
const now = Date.now();
const minutesAgo = (m: number) => new Date(now - m * 60_000);

beforeAll(async () => {
  ({ h, admin } = await startAdminHarness());
  // Rows as server/analytics records them from `security.event`.
  await h.services.prisma.analyticsSecurity.createMany({
    data: [
      { timestamp: minutesAgo(1), eventType: "TOKEN_REUSE", severity: "high", clientId: "mcpc_a", ipAddress: "10.0.0.1" },
      { timestamp: minutesAgo(5), eventType: "INVALID_TOKEN", severity: "low", clientId: "mcpc_b" },
      { timestamp: minutesAgo(30), eventType: "INVALID_TOKEN", severity: "low", clientId: "mcpc_a" },
      { timestamp: minutesAgo(90), eventType: "RATE_LIMIT_EXCEEDED", severity: "medium", details: { endpoint: "/api/oauth/token" } },
      { timestamp: minutesAgo(60 * 48), eventType: "CODE_REUSE", severity: "critical", clientId: "mcpc_a" },
    ],
  });
});

describe("security.list", () => {
  it("lists newest first", async () => {
    const page = await admin.caller.security.list({});
    expect(page.total).toBe(5);
    expect(page.items.map((e) => e.eventType)).toEqual(["TOKEN_REUSE", "INVALID_TOKEN", "INVALID_TOKEN", "RATE_LIMIT_EXCEEDED", "CODE_REUSE"]);
  });

  it("filters by type, severity, client and time range", async () => {
    expect((await admin.caller.security.list({ type: "INVALID_TOKEN" })).total).toBe(2);
    expect((await admin.caller.security.list({ severity: "critical" })).items.map((e) => e.eventType)).toEqual(["CODE_REUSE"]);
    expect((await admin.caller.security.list({ clientId: "mcpc_a" })).total).toBe(3);
    const lastHour = await admin.caller.security.list({ from: minutesAgo(60) });
    expect(lastHour.items.map((e) => e.eventType)).toEqual(["TOKEN_REUSE", "INVALID_TOKEN", "INVALID_TOKEN"]);
    const window = await admin.caller.security.list({ from: minutesAgo(60 * 24), to: minutesAgo(10) });
    expect(window.items.map((e) => e.eventType)).toEqual(["INVALID_TOKEN", "RATE_LIMIT_EXCEEDED"]);
  });

  it("names the client of an event by its row id, and filters by its public client_id or row id", async () => {
    const client = await h.services.prisma.client.create({
      data: { clientId: "mcpc_named", name: "Named client", scope: "mcp:tools", redirectUris: ["https://app.example/cb"] },
    });
    // Events carry the Client row id (server/events.ts EventOrigin).
    await h.services.prisma.analyticsSecurity.createMany({
      data: [
        { timestamp: minutesAgo(2), eventType: "INVALID_CLIENT", severity: "low", clientId: client.id },
        { timestamp: minutesAgo(3), eventType: "INVALID_CLIENT", severity: "low", clientId: client.id },
      ],
    });
    for (const key of [client.id, "mcpc_named"]) {
      const page = await admin.caller.security.list({ clientId: key });
      expect(page.total).toBe(2);
      expect(page.items.map((e) => [e.clientName, e.clientPublicId, e.clientId])).toEqual([
        ["Named client", "mcpc_named", client.id],
        ["Named client", "mcpc_named", client.id],
      ]);
    }
    await h.services.prisma.analyticsSecurity.deleteMany({ where: { eventType: "INVALID_CLIENT" } });
  });

  it("refuses an unknown severity, a bad date and an inverted range", async () => {
    expect(await codeOf(admin.caller.security.list({ severity: "apocalyptic" as "high" }))).toBe("BAD_REQUEST");
    expect(await codeOf(admin.caller.security.list({ from: "yesterday" as unknown as Date }))).toBe("BAD_REQUEST");
    expect(await codeOf(admin.caller.security.list({ from: minutesAgo(1), to: minutesAgo(10) }))).toBe("BAD_REQUEST");
    // Past year 9999 (no ISO 8601 text PostgreSQL reads): refused, not a 500.
    expect(await codeOf(admin.caller.security.list({ to: new Date(8.64e15) }))).toBe("BAD_REQUEST");
  });

  it("types lists the event types seen, most frequent first", async () => {
    const types = await admin.caller.security.types();
    expect(types[0]).toBe("INVALID_TOKEN");
    expect(types).toHaveLength(4);
  });
});

describe("security.markReviewed", () => {
  it("records who reviewed and when; the reviewed filter follows", async () => {
    const { items } = await admin.caller.security.list({ severity: "high" });
    await expect(admin.caller.security.markReviewed({ ids: [items[0].id] })).resolves.toEqual({ reviewed: 1 });
    const [row] = (await admin.caller.security.list({ reviewed: "reviewed" })).items;
    expect(row).toMatchObject({ id: items[0].id, reviewedById: admin.id, reviewedByEmail: ADMIN_EMAIL });
    expect(row.reviewedAt).toBeInstanceOf(Date);
    expect((await admin.caller.security.list({ reviewed: "unreviewed" })).total).toBe(4);
    // Reviewing again keeps the first review.
    await expect(admin.caller.security.markReviewed({ ids: [items[0].id] })).resolves.toEqual({ reviewed: 0 });
  });

  it("needs at least one id", async () => {
    expect(await codeOf(admin.caller.security.markReviewed({ ids: [] }))).toBe("BAD_REQUEST");
  });
});
