import type { TRPCError } from "@trpc/server";
import { beforeAll, describe, expect, it } from "vitest";
import { connectApp, makeClient } from "./fixtures.ts";
import { ADMIN_EMAIL, codeOf, startAdminHarness, type Person, type TrpcHarness } from "./harness.ts";

let h: TrpcHarness;
let admin: Person;

beforeAll(async () => {
  ({ h, admin } = await startAdminHarness());
});

describe("users.list", () => {
  it("lists people with role, last sign-in, configured-admin flag and session counts", async () => {
    const someone = await h.signIn("list-me@example.com");
    const page = await admin.caller.users.list({ search: "list-me" });
    expect(page.total).toBe(1);
    expect(page.items[0]).toMatchObject({
      id: someone.id,
      email: "list-me@example.com",
      role: "USER",
      configuredAdmin: false,
      activeSessions: 1,
      activeGrants: 0,
    });
    expect(page.items[0].lastSignInAt).toBeInstanceOf(Date);
    const root = await admin.caller.users.list({ search: ADMIN_EMAIL });
    expect(root.items[0]).toMatchObject({ role: "ADMIN", configuredAdmin: true });
  });

  it("filters by role and pages with cursors both ways", async () => {
    for (let i = 0; i < 7; i++) await h.signIn(`pager-${i}@example.com`);
    const first = await admin.caller.users.list({ search: "pager-", limit: 3 });
    expect(first.total).toBe(7);
    expect(first.items.map((u) => u.email)).toEqual(["pager-6@example.com", "pager-5@example.com", "pager-4@example.com"]);
    expect(first.prevCursor).toBeNull();
    const second = await admin.caller.users.list({ search: "pager-", limit: 3, cursor: first.nextCursor! });
    expect(second.items.map((u) => u.email)).toEqual(["pager-3@example.com", "pager-2@example.com", "pager-1@example.com"]);
    const third = await admin.caller.users.list({ search: "pager-", limit: 3, cursor: second.nextCursor! });
    expect(third.items.map((u) => u.email)).toEqual(["pager-0@example.com"]);
    expect(third.nextCursor).toBeNull();
    const back = await admin.caller.users.list({ search: "pager-", limit: 3, cursor: third.prevCursor!, direction: "backward" });
    expect(back.items.map((u) => u.email)).toEqual(second.items.map((u) => u.email));
    const backToStart = await admin.caller.users.list({ search: "pager-", limit: 3, cursor: back.prevCursor!, direction: "backward" });
    expect(backToStart.items.map((u) => u.email)).toEqual(first.items.map((u) => u.email));
    expect(backToStart.prevCursor).toBeNull();

    const admins = await admin.caller.users.list({ role: "ADMIN" });
    expect(admins.items.every((u) => u.role === "ADMIN")).toBe(true);
  });

  it("get returns one user as listed; an unknown id is NOT_FOUND", async () => {
    const someone = await h.signIn("get-me@example.com");
    await expect(admin.caller.users.get({ userId: someone.id })).resolves.toMatchObject({
      id: someone.id,
      email: "get-me@example.com",
      role: "USER",
      activeSessions: 1,
    });
    expect(await codeOf(admin.caller.users.get({ userId: "nobody" }))).toBe("NOT_FOUND");
  });

  it("rejects a limit above 100", async () => {
    expect(await codeOf(admin.caller.users.list({ limit: 101 }))).toBe("BAD_REQUEST");
  });
});

describe("users.promote / users.demote", () => {
  it("promote sets promotedAt and the role; the promotion survives the next sign-in", async () => {
    const person = await h.signIn("promote-me@example.com");
    await expect(admin.caller.users.promote({ userId: person.id })).resolves.toEqual({ role: "ADMIN" });
    const row = await h.services.prisma.user.findUniqueOrThrow({ where: { id: person.id } });
    expect(row.role).toBe("ADMIN");
    expect(row.promotedAt).toBeInstanceOf(Date);
    await h.signIn("promote-me@example.com");
    expect((await h.services.prisma.user.findUniqueOrThrow({ where: { id: person.id } })).role).toBe("ADMIN");
  });

  it("demote clears promotedAt and the role, and records an ADMIN_ACTION event", async () => {
    const person = await h.signIn("demote-me@example.com");
    await admin.caller.users.promote({ userId: person.id });
    const events: unknown[] = [];
    const off = h.services.events.on("security.event", (e) => events.push(e));
    await expect(admin.caller.users.demote({ userId: person.id })).resolves.toEqual({ role: "USER" });
    off();
    const row = await h.services.prisma.user.findUniqueOrThrow({ where: { id: person.id } });
    expect(row).toMatchObject({ role: "USER", promotedAt: null });
    expect(events).toEqual([
      expect.objectContaining({ type: "ADMIN_ACTION", userId: admin.id, details: { action: "user.demoted", targetUserId: person.id } }),
    ]);
  });

  it("demote revokes the grants that carry the admin scope, and only those", async () => {
    const person = await h.signIn("demote-tokens@example.com");
    await admin.caller.users.promote({ userId: person.id });
    const client = await makeClient(h.services);
    const ordinary = await connectApp(h.services, person.id, client.id);
    const adminGrant = await h.services.prisma.grant.create({
      data: { userId: person.id, clientId: client.id, scope: "mcp:tools mcp:admin", resource: `${h.services.env.APP_URL}/mcp` },
    });
    await admin.caller.users.demote({ userId: person.id });
    const grants = await h.services.prisma.grant.findMany({ where: { userId: person.id }, orderBy: { createdAt: "asc" } });
    expect(grants.find((g) => g.id === adminGrant.id)?.revokedAt).toBeInstanceOf(Date);
    expect(grants.find((g) => g.id === ordinary.grantId)?.revokedAt).toBeNull();
  });

  it("ADMIN_EMAILS members cannot be demoted", async () => {
    const other = await h.signIn("second-admin@example.com");
    await admin.caller.users.promote({ userId: other.id });
    // A caller's context (and so its role) is read when the caller is made, as for each HTTP request.
    const asOther = await h.callerFor(other.cookie);
    const error = await asOther.users.demote({ userId: admin.id }).catch((e: unknown) => e);
    expect((error as TRPCError).code).toBe("PRECONDITION_FAILED");
    expect((error as TRPCError).message).toContain("ADMIN_EMAILS");
    expect((await h.services.prisma.user.findUniqueOrThrow({ where: { id: admin.id } })).role).toBe("ADMIN");
  });

  it("an admin cannot demote themself", async () => {
    const other = await h.signIn("self-demoter@example.com");
    await admin.caller.users.promote({ userId: other.id });
    const asOther = await h.callerFor(other.cookie);
    expect(await codeOf(asOther.users.demote({ userId: other.id }))).toBe("PRECONDITION_FAILED");
  });

  it("an unknown user is NOT_FOUND", async () => {
    expect(await codeOf(admin.caller.users.promote({ userId: "nobody" }))).toBe("NOT_FOUND");
    expect(await codeOf(admin.caller.users.demote({ userId: "nobody" }))).toBe("NOT_FOUND");
  });

  it("an empty user id is BAD_REQUEST", async () => {
    expect(await codeOf(admin.caller.users.promote({ userId: "" }))).toBe("BAD_REQUEST");
  });
});

describe("users.sessions / endSession / endAllSessions", () => {
  it("lists a user's sessions and ends one: that browser is signed out", async () => {
    const a = await h.signIn("sessions@example.com");
    const b = await h.signIn("sessions@example.com");
    const sessions = await admin.caller.users.sessions({ userId: a.id });
    expect(sessions).toHaveLength(2);
    expect(sessions.every((s) => s.current === false)).toBe(true);
    const sessionOfA = (await h.services.auth.getUser(new Request("http://x/", { headers: { cookie: a.cookie } })))!.sessionId;
    await expect(admin.caller.users.endSession({ userId: a.id, sessionId: sessionOfA })).resolves.toEqual({ ended: 1 });
    expect(await h.services.auth.getUser(new Request("http://x/", { headers: { cookie: a.cookie } }))).toBeNull();
    expect(await h.services.auth.getUser(new Request("http://x/", { headers: { cookie: b.cookie } }))).not.toBeNull();
  });

  it("ending a session of another user is NOT_FOUND", async () => {
    const a = await h.signIn("owner@example.com");
    const other = await h.signIn("not-owner@example.com");
    const [session] = await admin.caller.users.sessions({ userId: a.id });
    expect(await codeOf(admin.caller.users.endSession({ userId: other.id, sessionId: session.id }))).toBe("NOT_FOUND");
  });

  it("marks the caller's own session as current", async () => {
    const sessions = await admin.caller.users.sessions({ userId: admin.id });
    expect(sessions.filter((s) => s.current)).toHaveLength(1);
  });

  it("endAllSessions signs a user out everywhere", async () => {
    const a = await h.signIn("everywhere@example.com");
    await h.signIn("everywhere@example.com");
    await expect(admin.caller.users.endAllSessions({ userId: a.id })).resolves.toEqual({ ended: 2 });
    expect(await admin.caller.users.sessions({ userId: a.id })).toEqual([]);
    expect(await codeOf(admin.caller.users.sessions({ userId: "nobody" }))).toBe("NOT_FOUND");
  });
});
