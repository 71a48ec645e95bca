/**
 * Mounting the Remix build: its request handler, the load context every loader/action receives, and the route
 * pattern of a path (for logs and analytics, which must never record raw paths with ids or tokens).
 */
import path from "node:path";
import { pathToFileURL } from "node:url";
import { matchRoutes, type AgnosticRouteObject } from "@remix-run/router";
import { createRequestHandler, type ServerBuild } from "@remix-run/node";
import type { RequestMeta } from "../request/meta.ts";
import type { RemixServices } from "./host-services.ts";

declare module "@remix-run/server-runtime" {
  interface AppLoadContext {
    services: RemixServices;
    meta: RequestMeta;
  }
}

export const remixBuildPath = path.resolve("build/index.js");

export async function loadRemixBuild(file = remixBuildPath): Promise<ServerBuild> {
  return (await import(pathToFileURL(file).href)) as ServerBuild;
}

export interface RemixApp {
  handle(request: Request, context: { services: RemixServices; meta: RequestMeta }): Promise<Response>;
  routePattern(pathname: string): string;
  build: ServerBuild;
}

export function mountRemix(build: ServerBuild, mode: string): RemixApp {
  const handler = createRequestHandler(build, mode);
  const routes = toRouteObjects(build);
  const cache = new Map<string, string>();
  // Remix answers its lazy route discovery here (not a route; it needs its query: `version`, `p`).
  const manifestPath = `${build.basename ?? "/"}/__manifest`.replace(/\/+/g, "/");
  // Routes with a component are pages: Remix checks the Origin of their actions. Resource routes it does not.
  const pages = new Set(
    Object.values(build.routes).flatMap((r) => (r && typeof r.module.default === "function" ? [r.id] : [])),
  );
  return {
    build,
    handle(request, context) {
      if (UNSAFE_METHODS.has(request.method) && !originMatchesHost(request.headers)) {
        // Remix refuses such a form post to a page itself, but with a 500 and an error log; answer 403 instead.
        const { pathname } = new URL(request.url);
        const leaf = matchRoutes(routes, pathname.replace(/\.data$/, ""))?.at(-1);
        if (leaf?.route.id && pages.has(leaf.route.id)) {
          return Promise.resolve(
            new Response("Cross-site form submissions are not accepted.", {
              status: 403,
              headers: { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store" },
            }),
          );
        }
      }
      return handler(request, context);
    },
    routePattern(pathname) {
      if (pathname === manifestPath) return "/__manifest";
      const cached = cache.get(pathname);
      if (cached) return cached;
      // Single fetch: a client-side navigation loads the page's data from its path + ".data" ("/_root.data" for
      // "/"). It is that page's route (and keeps its query string: a filter or lookup submitted in the browser).
      const page = pathname === "/_root.data" ? "/" : pathname.endsWith(".data") ? pathname.slice(0, -".data".length) : pathname;
      const matches = matchRoutes(routes, page);
      const leaf = matches?.at(-1);
      const pattern = !leaf
        ? "unmatched"
        : "/" +
          matches!
            .map((m) => m.route.path ?? "")
            .filter(Boolean)
            .join("/")
            .replace(/\/+/g, "/");
      // Bounded: a scan of random paths must not grow memory.
      if (cache.size < 10_000) cache.set(pathname, pattern);
      return pattern;
    },
  };
}

const UNSAFE_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/**
 * The same-origin test Remix applies to actions of page routes (`throwIfPotentialCSRFAttack`): an `Origin` header,
 * when present, must name the host in X-Forwarded-Host or Host. `Origin: null` fails it.
 */
export function originMatchesHost(headers: Headers): boolean {
  const origin = headers.get("origin");
  if (!origin) return true;
  const host = headers.get("x-forwarded-host")?.split(",")[0]?.trim() || headers.get("host");
  if (origin === "null" || !host) return false;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

function toRouteObjects(build: ServerBuild): AgnosticRouteObject[] {
  const byParent = new Map<string | undefined, typeof build.routes[string][]>();
  for (const route of Object.values(build.routes)) {
    const list = byParent.get(route.parentId) ?? [];
    list.push(route);
    byParent.set(route.parentId, list);
  }
  const convert = (parentId: string | undefined): AgnosticRouteObject[] =>
    (byParent.get(parentId) ?? []).map((route) =>
      route.index
        ? { id: route.id, index: true, path: route.path }
        : { id: route.id, path: route.path, children: convert(route.id) },
    );
  return convert(undefined);
}
