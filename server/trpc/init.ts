/**
 * tRPC setup, in one place (create-t3-app `server/api/trpc.ts`).
 *
 * 1. CONTEXT: built from the Remix/Fetch `Request` of the call: the services, the request id (from the host's
 *    request meta, or `X-Request-Id`), and the signed-in person, read from the session cookie through
 *    `services.auth.getUser`. The same context serves HTTP calls (`/api/trpc/*`) and `createCaller` in loaders and
 *    tests, so both take the same checks.
 * 2. ERRORS: ONE middleware (`mapDomainErrors`) turns domain errors into `TRPCError` codes; unknown errors are logged
 *    with the request id and reach the caller as a bare INTERNAL_SERVER_ERROR (no message, no stack). Bad input is
 *    BAD_REQUEST with the zod issues in `error.data.zodIssues`.
 * 3. CSRF: every mutation must come from our own origin (`Origin`, or `Sec-Fetch-Site: same-origin` when a browser
 *    sends no Origin) — the session cookie is ambient authority, so a cross-site page must not be able to spend it
 *    (OWASP CSRF Prevention Cheat Sheet, "Verifying Origin with standard headers"). Queries are read-only.
 * 4. PROCEDURES: `publicProcedure` (anyone), `protectedProcedure` (signed in, else UNAUTHORIZED; `ctx.user` is
 *    non-null), `adminProcedure` (role ADMIN, else FORBIDDEN; `ctx.user.role` is `"ADMIN"`). The role is read from
 *    the database on every call, so a demotion takes effect at once.
 */
import { randomUUID } from "node:crypto";
import { initTRPC, TRPCError, type TRPC_ERROR_CODE_KEY } from "@trpc/server";
import { DATABASE_UNAVAILABLE_TEXT, isDatabaseUnavailable } from "../db/availability.ts";
import { ZodError } from "zod";
import type { SessionUser } from "../auth/session-user.ts";
import { Prisma } from "../db/client.ts";
import type { RequestMeta } from "../request/meta.ts";
import { OAuthError } from "../oauth/errors.ts";
import { DomainError, type DomainErrorKind } from "../domain-error.ts";
import type { PeopleAuth } from "../auth/people.ts";
import type { Database, PrismaClient } from "../db/client.ts";
import type { Env } from "../env.ts";
import type { DomainEventBus } from "../events.ts";
import type { Logger } from "../logger.ts";

/**
 * What procedures use of the process's services (server/services.ts builds them): `ctx.services`, handed on to the
 * domain functions the routers call.
 */
export interface TrpcServices {
  env: Env;
  log: Logger;
  db: Database;
  prisma: PrismaClient;
  events: DomainEventBus;
  auth: PeopleAuth;
}

export interface TrpcContext {
  services: TrpcServices;
  request: Request;
  requestId: string;
  /** The host's per-request facts (absent for callers built outside an HTTP request, e.g. tests). */
  meta: RequestMeta | null;
  user: SessionUser | null;
}

export async function createContext(options: {
  services: TrpcServices;
  request: Request;
  meta?: RequestMeta | null;
}): Promise<TrpcContext> {
  const { services, request } = options;
  const meta = options.meta ?? null;
  // The session lookup is the first database read of every call: an outage here is a 503 too, not a 500.
  const user = await services.auth.getUser(request).catch((error: unknown) => {
    throw toTRPCError(error) ?? error;
  });
  if (meta && user) meta.userId = user.id;
  const incoming = request.headers.get("x-request-id");
  const requestId = meta?.requestId ?? (incoming && /^[A-Za-z0-9._-]{1,64}$/.test(incoming) ? incoming : randomUUID());
  return { services, request, requestId, meta, user };
}

const t = initTRPC.context<TrpcContext>().create({
  errorFormatter({ shape, error }) {
    const zodIssues = error.code === "BAD_REQUEST" && error.cause instanceof ZodError ? error.cause.issues : null;
    // Never send a stack trace, even in development: the console is not a debugger.
    const { stack: _stack, ...data } = shape.data;
    return { ...shape, data: { ...data, zodIssues } };
  },
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

/** The domain says "your request cannot be done" with a DomainError (server/domain-error.ts); its `kind` picks the code. */
const KIND_TO_CODE: Record<DomainErrorKind, TRPC_ERROR_CODE_KEY> = {
  invalid: "BAD_REQUEST",
  not_found: "NOT_FOUND",
  conflict: "CONFLICT",
  forbidden: "FORBIDDEN",
  precondition: "PRECONDITION_FAILED",
};

/** Maps one thrown value to the TRPCError the caller sees, or null when it is not a known domain error. */
export function toTRPCError(error: unknown): TRPCError | null {
  if (error instanceof TRPCError) return error;
  // The database unreachable (server/db/availability.ts): 503, the page or client may retry.
  if (isDatabaseUnavailable(error)) return new TRPCError({ code: "SERVICE_UNAVAILABLE", message: DATABASE_UNAVAILABLE_TEXT, cause: error });
  if (error instanceof Prisma.PrismaClientKnownRequestError) {
    if (error.code === "P2025") return new TRPCError({ code: "NOT_FOUND", message: "Not found", cause: error });
    if (error.code === "P2002") return new TRPCError({ code: "CONFLICT", message: "Already exists", cause: error });
    return null;
  }
  if (error instanceof DomainError) {
    return new TRPCError({ code: KIND_TO_CODE[error.kind], message: error.message, cause: error });
  }
  // The authorization server's validation (redirect URIs, client metadata, scopes; RFC 7591 §3.2.2) reused by the
  // console: a 400 OAuthError is bad input, and its `description` is the text meant for the person.
  if (error instanceof OAuthError && error.status === 400) {
    return new TRPCError({ code: "BAD_REQUEST", message: error.description || error.error, cause: error });
  }
  return null;
}

/** The one error-mapping middleware: known domain errors get their code, the rest are logged and hidden. */
const mapDomainErrors = t.middleware(async ({ ctx, next, path, type }) => {
  const result = await next();
  if (result.ok) return result;
  const original = result.error.code === "INTERNAL_SERVER_ERROR" && result.error.cause ? result.error.cause : result.error;
  const mapped = toTRPCError(original);
  if (mapped && mapped.code !== "INTERNAL_SERVER_ERROR") throw mapped;
  ctx.services.log.error({ err: original, path, type, requestId: ctx.requestId }, "tRPC procedure failed");
  throw new TRPCError({ code: "INTERNAL_SERVER_ERROR", message: `Internal error (request ${ctx.requestId})` });
});

/**
 * True when a state-changing call comes from our own pages: `Origin` equals APP_URL's origin, or, when the browser
 * withheld the origin (no Origin, or `Origin: null` as sent under `Referrer-Policy: no-referrer`),
 * `Sec-Fetch-Site: same-origin` — a header pages cannot set. A request with neither is refused.
 */
export function isSameOriginRequest(request: Request, appUrl: string): boolean {
  const origin = request.headers.get("origin");
  if (origin !== null && origin !== "null") return origin === new URL(appUrl).origin;
  return request.headers.get("sec-fetch-site") === "same-origin";
}

const refuseCrossSiteMutations = t.middleware(({ ctx, type, next }) => {
  if (type === "mutation" && !isSameOriginRequest(ctx.request, ctx.services.env.APP_URL)) {
    ctx.services.events.security({
      type: "INVALID_ORIGIN",
      severity: "medium",
      userId: ctx.user?.id ?? null,
      ip: ctx.meta?.ip ?? null,
      userAgent: ctx.meta?.userAgent ?? null,
      details: { surface: "trpc", origin: ctx.request.headers.get("origin")?.slice(0, 200) ?? null },
    });
    throw new TRPCError({ code: "FORBIDDEN", message: "Cross-site request refused" });
  }
  return next();
});

export const publicProcedure = t.procedure.use(mapDomainErrors).use(refuseCrossSiteMutations);

export const protectedProcedure = publicProcedure.use(({ ctx, next }) => {
  if (!ctx.user) throw new TRPCError({ code: "UNAUTHORIZED", message: "Sign in first" });
  return next({ ctx: { user: ctx.user } });
});

export const adminProcedure = protectedProcedure.use(({ ctx, next }) => {
  if (ctx.user.role !== "ADMIN") throw new TRPCError({ code: "FORBIDDEN", message: "Administrators only" });
  return next({ ctx: { user: { ...ctx.user, role: "ADMIN" as const } } });
});
