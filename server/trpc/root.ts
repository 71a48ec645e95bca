/**
 * The tRPC API of the admin console and the account page, served at /api/trpc/* (server/trpc/http.ts) and called
 * in-process by Remix loaders and tests through `createCaller`.
 */
import type { RequestMeta } from "../request/meta.ts";
import { createCallerFactory, createContext, router, type TrpcServices } from "./init.ts";
import { analyticsRouter } from "./routers/analytics.ts";
import { clientsRouter } from "./routers/clients.ts";
import { doctorRouter } from "./routers/doctor.ts";
import { identityProvidersRouter } from "./routers/identity-providers.ts";
import { meRouter } from "./routers/me.ts";
import { securityRouter } from "./routers/security.ts";
import { tokensRouter } from "./routers/tokens.ts";
import { usersRouter } from "./routers/users.ts";

export const appRouter = router({
  me: meRouter,
  clients: clientsRouter,
  identityProviders: identityProvidersRouter,
  users: usersRouter,
  security: securityRouter,
  tokens: tokensRouter,
  analytics: analyticsRouter,
  doctor: doctorRouter,
});

export type AppRouter = typeof appRouter;

const callerFactory = createCallerFactory(appRouter);

export type AppCaller = ReturnType<typeof callerFactory>;

/**
 * A server-side caller acting as the person whose cookie `request` carries (or anonymous). Every procedure runs
 * its middlewares as over HTTP: role checks, the cross-site refusal for mutations, error mapping.
 */
export async function createCaller(services: TrpcServices, request: Request, meta?: RequestMeta | null): Promise<AppCaller> {
  return callerFactory(await createContext({ services, request, meta }));
}
