/**
 * A grant issued in one step at the token endpoint, with no authorization code before it and no refresh token after
 * it: `client_credentials` (OAuth 2.1 §4.2: "a refresh token SHOULD NOT be included") and the ID-JAG `jwt-bearer`
 * grant (the client gets a fresh ID-JAG from the identity provider instead of refreshing). One statement inserts
 * the grant and its access token (digest only) and notes the client's first and last use.
 */
import type pg from "pg";
import { prepareTokens, type TokenResponse } from "./tokens.ts";
import { newId, query, statement } from "./sql.ts";
import type { Env } from "../env.ts";

export interface StandaloneGrantInput {
  clientDbId: string;
  /** The person the token acts for; null for a machine client acting as itself. */
  userId: string | null;
  /** The trusted identity provider whose assertion this grant came from (ID-JAG). */
  identityProviderId: string | null;
  scope: string;
  /** The audience (RFC 8707), already resolved to one of this server's resources. */
  resource: string;
  /** RFC 9449 §5: the thumbprint of the request's DPoP key; the access token is bound to it (`token_type` DPoP). */
  dpopJkt: string | null;
}

/**
 * $1 grant id, $2 now, $3 client, $4 user, $5 identity provider, $6 scope, $7 resource, $8-$10 access token (id,
 * digest, expiry), $11 DPoP key thumbprint (or null).
 */
const ISSUE = statement(
  "oauth_issue_standalone_grant",
  `
WITH g AS (
  INSERT INTO "Grant" (id, "userId", "clientId", scope, resource, "identityProviderId", "createdAt", "lastUsedAt")
  VALUES ($1, $4, $3, $6, $7, $5, $2::timestamp, $2::timestamp)
  RETURNING id
), a AS (
  INSERT INTO "AccessToken" (id, "tokenHash", "grantId", "clientId", "userId", scope, resource, "expiresAt", "createdAt", "dpopJkt")
  SELECT $8, $9, id, $3, $4, $6, $7, $10::timestamp, $2::timestamp, $11 FROM g
  RETURNING id
), c AS (
  UPDATE "Client" SET "firstTokenAt" = COALESCE("firstTokenAt", $2::timestamp), "lastUsedAt" = $2::timestamp
  WHERE id = $3 AND ("firstTokenAt" IS NULL OR "lastUsedAt" IS NULL OR "lastUsedAt" < $2::timestamp - interval '60 seconds')
  RETURNING id
)
SELECT (SELECT id FROM g) AS "grantId", (SELECT id FROM a) AS "accessTokenId"`,
);

export async function issueStandaloneGrant(
  deps: { pool: pg.Pool; env: Env },
  input: StandaloneGrantInput,
  now: Date,
): Promise<{ response: TokenResponse; grantId: string; accessTokenId: string }> {
  const prepared = prepareTokens(deps.env, { scope: input.scope, withRefresh: false, dpopBound: input.dpopJkt !== null }, now);
  const grantId = newId();
  await query(deps.pool, ISSUE, [
    grantId,
    now,
    input.clientDbId,
    input.userId,
    input.identityProviderId,
    input.scope,
    input.resource,
    prepared.access.id,
    prepared.access.tokenHash,
    prepared.access.expiresAt,
    input.dpopJkt,
  ]);
  return { response: prepared.response, grantId, accessTokenId: prepared.access.id };
}
