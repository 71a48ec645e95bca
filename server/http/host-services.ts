/**
 * What the host (server/http) and the Remix app behind it use of the process's services. server/services.ts builds
 * them and http/server.ts hands them in; these types of its own keep the host from importing the wiring file.
 */
import type { Analytics } from "../analytics/index.ts";
import type { Csrf } from "../auth/csrf.ts";
import type { PeopleAuth } from "../auth/people.ts";
import type { Database } from "../db/client.ts";
import type { Env } from "../env.ts";
import type { DomainEventBus } from "../events.ts";
import type { Logger } from "../logger.ts";
import type { McpService } from "../mcp/service.ts";
import type { OAuthServer } from "../oauth/oauth-server.ts";
import type { Reporting } from "../reporting/index.ts";
import type { RateLimits } from "../request/rate-limit.ts";
import type { TrpcService } from "../trpc/http.ts";

/** The load context's `services` (remix.ts): what loaders and actions in app/ reach. */
export interface RemixServices {
  env: Env;
  log: Logger;
  auth: PeopleAuth;
  csrf: Csrf;
  oauth: OAuthServer;
  trpc: TrpcService;
  reporting: Reporting;
}

/** The host's steps (edge.ts) and routes (app.ts: health, metrics, MCP, the OAuth fast path), and Remix. */
export interface HostServices extends RemixServices {
  db: Database;
  events: DomainEventBus;
  rateLimits: RateLimits;
  mcp: McpService;
  analytics: Pick<Analytics, "metricsHandler">;
}
