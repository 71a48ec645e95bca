/**
 * Page loaders read through the tRPC API in-process (`createCaller`), as the person whose cookie the request
 * carries: the server checks the role on every call. Anonymous visitors are sent to sign in; other refusals become
 * error responses the route's ErrorBoundary shows (server/trpc/http.ts `load`).
 */
import type { LoaderFunctionArgs } from "@remix-run/node";
import type { AppCaller } from "../../server/trpc/root";

export function callApi<T>({ request, context }: Pick<LoaderFunctionArgs, "request" | "context">, fn: (api: AppCaller) => Promise<T>): Promise<T> {
  return context.services.trpc.load(request, context.meta, fn);
}
