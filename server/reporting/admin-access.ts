/**
 * Who may use the analytics API: a signed-in administrator (session cookie), or, for `POST /api/analytics/collect`
 * only, a bearer access token carrying the `mcp:admin` scope (RFC 6750 §2.1) whose user is still an administrator.
 * The token is verified by the MCP resource server's own bearer check (server/mcp/bearer.ts, `services.mcp.bearer`):
 * the same validity rules (digest lookup, expiry, revocation, disabled client, RFC 8707 audience of the MCP server),
 * the same cache and the same INVALID_TOKEN security events. Anonymous callers get 401, everyone else 403; both as
 * JSON with `Cache-Control: no-store`.
 */
import type { PeopleAuth } from "../auth/people.ts";
import type { EventOrigin } from "../events.ts";
import type { BearerAuth } from "../mcp/bearer.ts";
import { bearerChallenge } from "../oauth/challenges.ts";
import type { OAuthErrorCode } from "../oauth/errors.ts";
import { McpScope } from "../oauth/scopes.ts";

export const ADMIN_SCOPE = McpScope.admin;

export type AnalyticsCaller =
  /** `clientId`: the Client row id of a bearer token's client. */
  | { ok: true; userId: string; clientId: string | null; via: "session" | "bearer" }
  | { ok: false; response: Response };

export interface AdminAccessDeps {
  auth: Pick<PeopleAuth, "getUser">;
  /** The MCP resource server's bearer check (services.mcp.bearer). */
  bearer: Pick<BearerAuth, "authenticate">;
}

export async function authorizeAnalyticsCaller(
  deps: AdminAccessDeps,
  request: Request,
  options: { allowBearer: boolean; origin?: EventOrigin },
): Promise<AnalyticsCaller> {
  const authorization = request.headers.get("authorization");
  if (options.allowBearer && authorization && /^bearer\s/i.test(authorization)) {
    return verifyAdminBearer(deps, request, authorization, options.origin ?? {});
  }
  const user = await deps.auth.getUser(request);
  if (!user) return { ok: false, response: jsonError(401, "unauthorized", "Sign in as an administrator", options.allowBearer) };
  if (user.role !== "ADMIN") return { ok: false, response: jsonError(403, "forbidden", "Administrators only") };
  return { ok: true, userId: user.id, clientId: null, via: "session" };
}

async function verifyAdminBearer(deps: AdminAccessDeps, request: Request, authorization: string, origin: EventOrigin): Promise<AnalyticsCaller> {
  const result = await deps.bearer.authenticate({ authorization, url: request.url, endpoint: "mcp", requiredScopes: [ADMIN_SCOPE], origin });
  const insufficient = () =>
    ({
      ok: false,
      response: jsonError(403, "insufficient_scope", `The access token needs the ${ADMIN_SCOPE} scope of an administrator`, true, "insufficient_scope"),
    }) as const;
  if (!result.ok) {
    const { status, error, description } = result.failure;
    if (error === "insufficient_scope") return insufficient();
    return { ok: false, response: jsonError(status, error ?? "unauthorized", description, true, error) };
  }
  // The analytics API is for people with role ADMIN; a machine client's token (no person) does not qualify.
  if (result.caller.role !== "ADMIN" || !result.caller.userId) return insufficient();
  return { ok: true, userId: result.caller.userId, clientId: result.caller.clientDbId, via: "bearer" };
}

export function jsonError(status: number, error: string, description: string, bearer = false, bearerError?: OAuthErrorCode): Response {
  const headers: Record<string, string> = { "Content-Type": "application/json", "Cache-Control": "no-store" };
  if (status === 401 && bearer) {
    headers["WWW-Authenticate"] = bearerChallenge({ realm: "analytics", error: bearerError });
  } else if (status === 403 && bearerError) {
    headers["WWW-Authenticate"] = bearerChallenge({ realm: "analytics", error: bearerError, scope: ADMIN_SCOPE });
  }
  return new Response(JSON.stringify({ error, error_description: description }), { status, headers });
}

export function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", "Cache-Control": "no-store" } });
}
