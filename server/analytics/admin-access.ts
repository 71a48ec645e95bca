/**
 * Who may use the analytics API: a signed-in administrator (session cookie), or, for `POST /api/analytics/collect`
 * only, a bearer access token carrying the `mcp:admin` scope (RFC 6750 §2.1) whose user is still an administrator.
 * Anonymous callers get 401, everyone else 403; both as JSON with `Cache-Control: no-store`.
 */
import { SecretPrefix, sha256Hex } from "../crypto.ts";
import type { Services } from "../services.ts";

export const ADMIN_SCOPE = "mcp:admin";

export type AnalyticsCaller =
  | { ok: true; userId: string; clientId: string | null; via: "session" | "bearer" }
  | { ok: false; response: Response };

type Deps = Pick<Services, "auth" | "prisma" | "env">;

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

export async function authorizeAnalyticsCaller(
  deps: Deps,
  request: Request,
  options: { allowBearer: boolean },
): Promise<AnalyticsCaller> {
  const authorization = request.headers.get("authorization");
  if (options.allowBearer && authorization && /^bearer\s/i.test(authorization)) {
    return verifyAdminBearer(deps, authorization);
  }
  const user = await deps.auth.getUser(request);
  if (!user) return { ok: false, response: jsonError(401, "unauthorized", "Sign in as an administrator", options.allowBearer) };
  if (user.role !== "ADMIN") return { ok: false, response: jsonError(403, "forbidden", "Administrators only") };
  return { ok: true, userId: user.id, clientId: null, via: "session" };
}

async function verifyAdminBearer(deps: Deps, authorization: string): Promise<AnalyticsCaller> {
  const token = BEARER.exec(authorization)?.[1];
  const invalid = () =>
    ({ ok: false, response: jsonError(401, "invalid_token", "The access token is invalid, revoked or expired", true, "invalid_token") }) as const;
  if (!token || token.length > 512 || !token.startsWith(SecretPrefix.accessToken)) return invalid();
  const row = await deps.prisma.accessToken.findUnique({
    where: { tokenHash: sha256Hex(token) },
    select: {
      userId: true,
      scope: true,
      resource: true,
      expiresAt: true,
      revokedAt: true,
      grant: { select: { revokedAt: true } },
      client: { select: { clientId: true, disabled: true } },
      user: { select: { role: true } },
    },
  });
  const appOrigin = new URL(deps.env.APP_URL).origin;
  if (
    !row ||
    row.revokedAt ||
    row.grant.revokedAt ||
    row.client.disabled ||
    row.expiresAt.getTime() <= Date.now() ||
    // RFC 8707: the token must have been issued for one of this server's resources.
    !URL.canParse(row.resource) ||
    new URL(row.resource).origin !== appOrigin
  ) {
    return invalid();
  }
  if (!row.scope.split(" ").includes(ADMIN_SCOPE) || row.user.role !== "ADMIN") {
    return {
      ok: false,
      response: jsonError(403, "insufficient_scope", `The access token needs the ${ADMIN_SCOPE} scope of an administrator`, true, "insufficient_scope"),
    };
  }
  return { ok: true, userId: row.userId, clientId: row.client.clientId, via: "bearer" };
}

export function jsonError(status: number, error: string, description: string, bearer = false, bearerError?: string): Response {
  const headers: Record<string, string> = { "Content-Type": "application/json", "Cache-Control": "no-store" };
  if (status === 401 && bearer) {
    headers["WWW-Authenticate"] = `Bearer realm="analytics"${bearerError ? `, error="${bearerError}"` : ""}`;
  } else if (status === 403 && bearerError) {
    headers["WWW-Authenticate"] = `Bearer realm="analytics", error="${bearerError}", scope="${ADMIN_SCOPE}"`;
  }
  return new Response(JSON.stringify({ error, error_description: description }), { status, headers });
}

export function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", "Cache-Control": "no-store" } });
}
