/**
 * What Remix routes reach through `context.services.trpc` (app/ may not import server/ values): the HTTP handler
 * for /api/trpc/* (fetch adapter) and a caller factory for loaders, plus the translation of tRPC errors into the
 * responses a page loader throws.
 */
import { TRPCError } from "@trpc/server";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { getHTTPStatusCodeFromError } from "@trpc/server/http";
import type { RequestMeta } from "../http/request-context.ts";
import type { Services } from "../services.ts";
import { createContext } from "./init.ts";
import { appRouter, createCaller, type AppCaller } from "./root.ts";

export const TRPC_ENDPOINT = "/api/trpc";

export interface TrpcService {
  /** Answers a request to /api/trpc/*. */
  handle(request: Request, meta: RequestMeta): Promise<Response>;
  /** A caller acting as the request's signed-in person. */
  caller(request: Request, meta?: RequestMeta | null): Promise<AppCaller>;
  /**
   * Runs `fn` with a caller and turns tRPC errors into what a page loader throws: anonymous -> redirect to sign-in
   * (coming back here), other errors -> a Response with the HTTP status and the message.
   */
  load<T>(request: Request, meta: RequestMeta | null, fn: (caller: AppCaller) => Promise<T>): Promise<T>;
}

export function createTrpcService(services: () => Services): TrpcService {
  return {
    handle(request, meta) {
      return fetchRequestHandler({
        endpoint: TRPC_ENDPOINT,
        req: request,
        router: appRouter,
        createContext: () => createContext({ services: services(), request, meta }),
        responseMeta: () => ({ headers: new Headers({ "Cache-Control": "no-store" }) }),
      });
    },
    caller: (request, meta) => createCaller(services(), request, meta),
    async load(request, meta, fn) {
      const caller = await createCaller(services(), request, meta);
      try {
        return await fn(caller);
      } catch (error) {
        if (!(error instanceof TRPCError)) throw error;
        if (error.code === "UNAUTHORIZED") await services().auth.requireUser(request);
        const status = getHTTPStatusCodeFromError(error);
        throw new Response(status >= 500 ? "Something went wrong." : error.message, {
          status,
          headers: { "Content-Type": "text/plain; charset=utf-8" },
        });
      }
    },
  };
}
