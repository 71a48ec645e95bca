/**
 * tRPC test harness: real services on a fresh database (no HTTP listener), and callers acting as an anonymous
 * visitor, a signed-in user or an admin, through the same `createCaller` the Remix loaders use. Sessions are made by
 * the real sign-in (`services.auth.signIn`), so the cookie, the session lookup and the role are all real.
 */
import { TRPCError } from "@trpc/server";
import { afterAll } from "vitest";
import type { DomainEvents } from "../../server/events.ts";
import { createServices, type Services } from "../../server/services.ts";
import { createLogger } from "../../server/logger.ts";
import { createCaller, type AppCaller } from "../../server/trpc/root.ts";
import { createTestDatabase } from "../helpers/database.ts";
import { testEnv } from "../helpers/server.ts";

export const APP_URL = "http://admin.test";
export const ADMIN_EMAIL = "root@example.com";

export interface Person {
  id: string;
  email: string;
  cookie: string;
  caller: AppCaller;
}

export interface TrpcHarness {
  services: Services;
  anonymous: AppCaller;
  /** Signs a person in (creating them) and returns a caller acting as them. */
  signIn(email: string): Promise<Person>;
  /** A caller for a cookie, with request headers of your choice (Origin etc.). */
  callerFor(cookie: string | null, headers?: Record<string, string>): Promise<AppCaller>;
}

export async function startTrpcHarness(overrides: Record<string, string> = {}): Promise<TrpcHarness> {
  const database = await createTestDatabase();
  const env = testEnv({ DATABASE_URL: database.url, APP_URL, ADMIN_EMAILS: ADMIN_EMAIL, ...overrides });
  const services = await createServices(env, { log: createLogger(env.LOG_LEVEL), databaseUrl: database.url });
  afterAll(async () => {
    await services.close();
    await database.drop();
  });

  const callerFor = (cookie: string | null, headers: Record<string, string> = { origin: APP_URL }) =>
    createCaller(services, new Request(`${APP_URL}/api/trpc`, { headers: { ...headers, ...(cookie ? { cookie } : {}) } }));

  return {
    services,
    anonymous: await callerFor(null),
    callerFor,
    async signIn(email) {
      const { user, setCookie } = await services.auth.signIn({ email, provider: "dev", providerAccountId: email });
      const cookie = setCookie.split(";")[0];
      return { id: user.id, email: user.email, cookie, caller: await callerFor(cookie) };
    },
  };
}

/** A harness with the configured admin (ADMIN_EMAIL) signed in: what most router tests start from. */
export async function startAdminHarness(overrides: Record<string, string> = {}): Promise<{ h: TrpcHarness; admin: Person }> {
  const h = await startTrpcHarness(overrides);
  return { h, admin: await h.signIn(ADMIN_EMAIL) };
}

/** The tRPC error code a call ends with ("OK" when it succeeds); other errors are rethrown. */
export function codeOf(call: Promise<unknown>): Promise<string> {
  return call.then(
    () => "OK",
    (e: unknown) => (e instanceof TRPCError ? e.code : Promise.reject(e)),
  );
}

/** Collects the payloads of one domain event until `off()`. */
export function recordEvents<K extends keyof DomainEvents>(services: Services, name: K) {
  const seen: Array<DomainEvents[K]> = [];
  const off = services.events.on(name, (e) => seen.push(e));
  return { seen, off };
}
