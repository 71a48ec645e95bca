import { TRPCError } from "@trpc/server";
import { beforeAll, describe, expect, it } from "vitest";
import { appRouter, type AppCaller } from "../../server/trpc/root.ts";
import { startServer } from "../../server/http/server.ts";
import { ADMIN_EMAIL, codeOf, startTrpcHarness, type Person, type TrpcHarness } from "./harness.ts";

/** Every procedure of the API, so a new one cannot skip the role checks below. */
const procedures = Object.entries(appRouter._def.procedures as unknown as Record<string, { _def: { type: string; inputs: unknown[] } }>).map(
  ([path, procedure]) => ({ path, type: procedure._def.type, takesInput: procedure._def.inputs.length > 0 }),
);
/** Procedures every signed-in person may call; all others are for admins. */
const forEveryone = (path: string) => path.startsWith("me.");

function call(caller: AppCaller, path: string, input?: unknown): Promise<unknown> {
  const fn = path.split(".").reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], caller);
  return (fn as (input?: unknown) => Promise<unknown>)(input);
}

let h: TrpcHarness;
let user: Person;
let admin: Person;

beforeAll(async () => {
  h = await startTrpcHarness();
  user = await h.signIn("someone@example.com");
  admin = await h.signIn(ADMIN_EMAIL);
});

describe("tRPC access control", () => {
  it("has procedures to check", () => {
    expect(procedures.length).toBeGreaterThan(5);
  });

  it.each(procedures)("$path: anonymous callers get UNAUTHORIZED", async ({ path }) => {
    expect(await codeOf(call(h.anonymous, path, {}))).toBe("UNAUTHORIZED");
  });

  it.each(procedures.filter((p) => !forEveryone(p.path)))("$path: non-admins get FORBIDDEN", async ({ path }) => {
    expect(await codeOf(call(user.caller, path, {}))).toBe("FORBIDDEN");
  });

  it.each(procedures.filter((p) => !forEveryone(p.path)))("$path: admins get past the role check", async ({ path }) => {
    // Empty input: either it is valid, or it fails validation — never UNAUTHORIZED/FORBIDDEN.
    expect(["OK", "BAD_REQUEST", "NOT_FOUND"]).toContain(await codeOf(call(admin.caller, path, {})));
  });

  it("a demotion takes effect on the next call (the role is read per request)", async () => {
    const promoted = await h.signIn("promoted@example.com");
    await admin.caller.users.promote({ userId: promoted.id });
    const asPromoted = await h.callerFor(promoted.cookie);
    await expect(asPromoted.users.list({})).resolves.toBeTruthy();
    await admin.caller.users.demote({ userId: promoted.id });
    expect(await codeOf((await h.callerFor(promoted.cookie)).users.list({}))).toBe("FORBIDDEN");
  });
});

describe("Bad input is BAD_REQUEST with the zod issues", () => {
  it.each(procedures.filter((p) => p.takesInput))("$path: a non-object input is BAD_REQUEST (for its caller)", async ({ path }) => {
    const caller = forEveryone(path) ? user.caller : admin.caller;
    const error = await call(caller, path, 42).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TRPCError);
    expect((error as TRPCError).code).toBe("BAD_REQUEST");
  });

  it("lists the failing fields", async () => {
    const error = await admin.caller.users.list({ limit: 1000, role: "ROOT" as "ADMIN" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TRPCError);
    expect((error as TRPCError).code).toBe("BAD_REQUEST");
    const paths = ((error as TRPCError).cause as unknown as { issues: Array<{ path: string[] }> }).issues.map((i) => i.path.join("."));
    expect(paths).toEqual(expect.arrayContaining(["limit", "role"]));
  });
});

describe("Cross-site mutations are refused (OWASP CSRF: verifying Origin)", () => {
  it("refuses a mutation whose Origin is another site", async () => {
    const evil = await h.callerFor(admin.cookie, { origin: "https://evil.example" });
    expect(await codeOf(evil.users.promote({ userId: user.id }))).toBe("FORBIDDEN");
    const after = await admin.caller.users.list({ search: user.email });
    expect(after.items[0].role).toBe("USER");
  });

  it("refuses a mutation with neither Origin nor Sec-Fetch-Site", async () => {
    const bare = await h.callerFor(admin.cookie, {});
    expect(await codeOf(bare.users.promote({ userId: user.id }))).toBe("FORBIDDEN");
  });

  it("refuses an opaque Origin (null) unless Sec-Fetch-Site says same-origin", async () => {
    const opaque = await h.callerFor(admin.cookie, { origin: "null" });
    expect(await codeOf(opaque.users.endAllSessions({ userId: user.id }))).toBe("FORBIDDEN");
    const sandboxed = await h.callerFor(admin.cookie, { origin: "null", "sec-fetch-site": "cross-site" });
    expect(await codeOf(sandboxed.users.endAllSessions({ userId: user.id }))).toBe("FORBIDDEN");
    const ownForm = await h.callerFor(admin.cookie, { origin: "null", "sec-fetch-site": "same-origin" });
    expect(await codeOf(ownForm.users.endAllSessions({ userId: user.id }))).toBe("OK");
  });

  it("refuses Sec-Fetch-Site: cross-site and accepts same-origin", async () => {
    const cross = await h.callerFor(admin.cookie, { "sec-fetch-site": "cross-site" });
    expect(await codeOf(cross.users.endAllSessions({ userId: user.id }))).toBe("FORBIDDEN");
    const same = await h.callerFor(admin.cookie, { "sec-fetch-site": "same-origin" });
    expect(await codeOf(same.users.sessions({ userId: user.id }))).toBe("OK");
  });

  it("lets queries through from anywhere (they change nothing)", async () => {
    const evil = await h.callerFor(admin.cookie, { origin: "https://evil.example" });
    expect(await codeOf(evil.users.list({}))).toBe("OK");
  });

  it("records the refusal as an INVALID_ORIGIN security event", async () => {
    const seen: string[] = [];
    const off = h.services.events.on("security.event", (e) => seen.push(e.type));
    const evil = await h.callerFor(admin.cookie, { origin: "https://evil.example" });
    await codeOf(evil.users.demote({ userId: user.id }));
    off();
    expect(seen).toContain("INVALID_ORIGIN");
  });

  it("over HTTP: POST /api/trpc with a foreign Origin is 403, with our Origin it succeeds", async () => {
    const { loadRemixBuild } = await import("../../server/http/remix.ts");
    const { freePort } = await import("../../server/db/embedded.ts");
    const port = await freePort();
    const server = await startServer(
      { ...h.services.env, APP_URL: `http://127.0.0.1:${port}` },
      { build: await loadRemixBuild(), log: h.services.log, port, host: "127.0.0.1", migrate: false },
    );
    try {
      const url = `${server.url}/api/trpc/users.promote`;
      const body = JSON.stringify({ userId: user.id });
      const headers = { "content-type": "application/json", cookie: admin.cookie };
      const refused = await fetch(url, { method: "POST", body, headers: { ...headers, origin: "https://evil.example" } });
      expect(refused.status).toBe(403);
      expect(refused.headers.get("cache-control")).toBe("no-store");
      const ok = await fetch(url, { method: "POST", body, headers: { ...headers, origin: server.url } });
      expect(ok.status).toBe(200);
      expect(await ok.json()).toMatchObject({ result: { data: { role: "ADMIN" } } });
      // Bad input over HTTP: 400 with the zod issues, no stack trace.
      const bad = await fetch(url, { method: "POST", body: JSON.stringify({ userId: 42 }), headers: { ...headers, origin: server.url } });
      expect(bad.status).toBe(400);
      const badBody = (await bad.json()) as { error: { data: { code: string; zodIssues: Array<{ path: string[] }>; stack?: string } } };
      expect(badBody.error.data.code).toBe("BAD_REQUEST");
      expect(badBody.error.data.zodIssues.map((i) => i.path.join("."))).toEqual(["userId"]);
      expect(badBody.error.data.stack).toBeUndefined();
      // Anonymous over HTTP: 401 with a JSON error body, no stack trace.
      const anon = await fetch(`${server.url}/api/trpc/users.list`);
      expect(anon.status).toBe(401);
      const text = await anon.text();
      expect(text).toContain("UNAUTHORIZED");
      expect(text).not.toContain("stack");
    } finally {
      await server.close(1_000);
    }
  });
});

