/**
 * POST /api/oauth/introspect (RFC 7662).
 *
 * Callers authenticate (RFC 7662 §2.1, §4): a confidential client (client_secret_basic / client_secret_post), which
 * may introspect only tokens issued to itself, or an administrator's access token with `mcp:admin`
 * (`Authorization: Bearer`), which may introspect any token. Public clients and anonymous callers are refused.
 * Anything that is not a live token of this server is `{"active": false}` with nothing else (RFC 7662 §2.2).
 * A DPoP-bound access token says so: `token_type` "DPoP" and `cnf.jkt` its key's thumbprint (RFC 9449 §6.2).
 */
import { SecretPrefix, sha256Hex } from "../crypto.ts";
import type { EventOrigin } from "../events.ts";
import { authenticateClient } from "./client-auth.ts";
import type { OAuthDeps } from "./deps.ts";
import type { OAuthHttpRequest } from "./endpoint-http.ts";
import { OAuthError } from "./errors.ts";
import { bodyParams } from "./request-params.ts";
import { findAccessToken } from "./tokens.ts";

export type IntrospectionResponse =
  | { active: false }
  | {
      active: true;
      scope: string;
      client_id: string;
      sub: string;
      username?: string;
      token_type?: "Bearer" | "DPoP";
      cnf?: { jkt: string };
      exp: number;
      iat: number;
      aud: string;
      iss: string;
    };

export async function handleIntrospectionRequest(deps: OAuthDeps, request: OAuthHttpRequest, origin: EventOrigin): Promise<IntrospectionResponse> {
  const params = await bodyParams(request);
  const authorization = request.headers.get("authorization") ?? "";
  let onlyClientId: string | null = null;
  const bearer = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
  if (bearer) {
    const caller = await findAccessToken(deps.pool, bearer[1]);
    if (!caller || caller.userRole !== "ADMIN" || !caller.scopes.includes("mcp:admin")) {
      throw new OAuthError("invalid_token", "introspection needs an administrator's access token with mcp:admin, or a confidential client", {
        reason: "introspection_bearer_refused",
      });
    }
    origin.userId = caller.userId;
    origin.clientId = caller.clientDbId;
  } else {
    const { client, method } = await authenticateClient(deps.clients, request, params, deps.assertions, { cached: true });
    origin.clientId = client.id;
    if (method === "none") {
      throw new OAuthError("invalid_client", "introspection is only for confidential clients", { reason: "public_client_introspection" });
    }
    onlyClientId = client.id;
  }
  const token = params.require("token");
  const now = new Date();
  const inactive = { active: false } as const;
  if (token.length > 200) return inactive;

  if (token.startsWith(SecretPrefix.accessToken)) {
    const info = await findAccessToken(deps.pool, token, now);
    if (!info || (onlyClientId && info.clientDbId !== onlyClientId)) return inactive;
    return {
      active: true,
      scope: info.scopes.join(" "),
      client_id: info.clientId,
      // RFC 7662 §2.2: a machine client's token (client_credentials) is about the client itself.
      sub: info.userId ?? info.clientId,
      ...(info.userEmail ? { username: info.userEmail } : {}),
      token_type: info.dpopJkt ? "DPoP" : "Bearer",
      ...(info.dpopJkt ? { cnf: { jkt: info.dpopJkt } } : {}),
      exp: Math.floor(info.expiresAt.getTime() / 1000),
      iat: Math.floor(info.createdAt.getTime() / 1000),
      aud: info.resource,
      iss: deps.env.APP_URL,
    };
  }
  if (token.startsWith(SecretPrefix.refreshToken)) {
    const row = await deps.prisma.refreshToken.findUnique({
      where: { tokenHash: sha256Hex(token) },
      include: { grant: { select: { revokedAt: true } }, client: { select: { clientId: true, disabled: true } }, user: { select: { email: true } } },
    });
    if (!row || row.revokedAt || row.rotatedAt || row.grant.revokedAt || row.expiresAt <= now || row.client.disabled) return inactive;
    if (onlyClientId && row.clientId !== onlyClientId) return inactive;
    return {
      active: true,
      scope: row.scope,
      client_id: row.client.clientId,
      sub: row.userId,
      username: row.user.email,
      exp: Math.floor(row.expiresAt.getTime() / 1000),
      iat: Math.floor(row.createdAt.getTime() / 1000),
      aud: row.resource,
      iss: deps.env.APP_URL,
    };
  }
  return inactive;
}
