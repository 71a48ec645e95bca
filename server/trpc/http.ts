/**
 * What Remix routes reach through `context.services.trpc` (app/ may not import server/ values): the HTTP handler
 * for /api/trpc/* (fetch adapter) and a caller factory for loaders, plus the translation of tRPC errors into the
 * responses a page loader throws.
 */
import { TRPCError } from "@trpc/server";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { getHTTPStatusCodeFromError } from "@trpc/server/http";
import { DATABASE_RETRY_AFTER_SECONDS, DATABASE_UNAVAILABLE_TEXT } from "../db/availability.ts";
import type { RequestMeta } from "../request/meta.ts";
import { createContext, type TrpcServices } from "./init.ts";
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

export function createTrpcService(services: () => TrpcServices): TrpcService {
  return {
    handle(request, meta) {
      return fetchRequestHandler({
        endpoint: TRPC_ENDPOINT,
        req: request,
        router: appRouter,
        createContext: () => createContext({ services: services(), request, meta }),
        responseMeta: ({ errors }) => {
          const headers = new Headers({ "Cache-Control": "no-store" });
          if (errors.some((e) => e.code === "SERVICE_UNAVAILABLE")) headers.set("Retry-After", String(DATABASE_RETRY_AFTER_SECONDS));
          return { headers };
        },
      });
    },
    caller: (request, meta) => createCaller(services(), request, meta),
    async load(request, meta, fn) {
      try {
        return await fn(await createCaller(services(), request, meta));
      } catch (error) {
        if (!(error instanceof TRPCError)) throw error;
        if (error.code === "UNAUTHORIZED") await services().auth.requireUser(request);
        const status = getHTTPStatusCodeFromError(error);
        const unavailable = error.code === "SERVICE_UNAVAILABLE";
        throw new Response(unavailable ? DATABASE_UNAVAILABLE_TEXT : status >= 500 ? "Something went wrong." : error.message, {
          status,
          headers: {
            "Content-Type": "text/plain; charset=utf-8",
            ...(unavailable ? { "Retry-After": String(DATABASE_RETRY_AFTER_SECONDS) } : {}),
          },
        });
      }
    },
  };
}
