/**
 * Issue 18 (grants at scale): access and refresh tokens are found by digest through hash indexes (migration
 * *_token_digest_hash_indexes), a third of a btree's size over the same digests, so the index a deployment's live
 * tokens need stays in memory. Checked on the catalog and on the plans of the lookups the token endpoint, the
 * resource server, introspection and revocation make, for the plan made with the value and the generic plan a
 * prepared statement settles on.
 */
import type pg from "pg";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../server/crypto.ts";
import { FIND_REFRESH_TOKEN } from "../../server/oauth/grant-types/refresh-token.ts";
import { FIND_ACCESS_TOKEN } from "../../server/oauth/tokens.ts";
import { startTestServer } from "../helpers/server.ts";

interface PlanNode {
  "Index Name"?: string;
  "Relation Name"?: string;
  "Node Type": string;
  Plans?: PlanNode[];
}

function nodes(plan: PlanNode, out: PlanNode[] = []): PlanNode[] {
  out.push(plan);
  for (const child of plan.Plans ?? []) nodes(child, out);
  return out;
}

/** The indexes the plan of `text` reads `table` through ("Seq Scan" when it reads the table whole). */
async function accessPaths(client: pg.PoolClient, text: string, values: unknown[], table: string): Promise<string[]> {
  const { rows } = await client.query<{ "QUERY PLAN": Array<{ Plan: PlanNode }> }>({ text: `EXPLAIN (FORMAT JSON) ${text}`, values });
  return nodes(rows[0]["QUERY PLAN"][0].Plan)
    .filter((n) => n["Relation Name"] === table || n["Index Name"]?.startsWith(`${table}_`))
    .map((n) => n["Index Name"] ?? n["Node Type"])
    .filter((path) => path !== "Bitmap Heap Scan");
}

describe("token digests are looked up through hash indexes (issue 18)", () => {
  it("the digest indexes are hash indexes, and every lookup by digest uses them", async () => {
    const server = await startTestServer({ ANALYTICS_ENABLED: "false" });
    const pool: pg.Pool = server.services.db.pool;
    const { rows: indexes } = await pool.query<{ table: string; index: string; method: string }>(`
      SELECT t.relname AS table, i.relname AS index, am.amname AS method
        FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid JOIN pg_am am ON am.oid = i.relam
       WHERE t.relname IN ('AccessToken', 'RefreshToken') AND pg_get_indexdef(i.oid) LIKE '%"tokenHash"%'
       ORDER BY 1`);
    expect(indexes).toEqual([
      { table: "AccessToken", index: "AccessToken_tokenHash_idx", method: "hash" },
      { table: "RefreshToken", index: "RefreshToken_tokenHash_idx", method: "hash" },
    ]);

    // 2,000 live grants with a token of each kind, so that reading a table whole is not what the planner picks.
    const resource = `${server.services.env.APP_URL}/mcp`;
    await pool.query(`INSERT INTO "User" (id, email, "updatedAt") VALUES ('digest-user', 'digest@example.test', now())`);
    await pool.query(`
      INSERT INTO "Client" (id, "clientId", name, "redirectUris", "grantTypes", scope, "tokenEndpointAuthMethod", "updatedAt")
      VALUES ('digest-client', 'digest-client', 'Digest', ARRAY['http://127.0.0.1:1/cb'], ARRAY['authorization_code', 'refresh_token'], 'mcp:tools', 'none', now())`);
    await pool.query(
      `WITH g AS (
         INSERT INTO "Grant" (id, "userId", "clientId", scope, resource) SELECT 'digest-grant-' || i, 'digest-user', 'digest-client', 'mcp:tools', $1
           FROM generate_series(1, 2000) i RETURNING id
       ), a AS (
         INSERT INTO "AccessToken" (id, "tokenHash", "grantId", "clientId", "userId", scope, resource, "expiresAt")
         SELECT 'at-' || id, encode(sha256(convert_to('at-' || id, 'UTF8')), 'hex'), id, 'digest-client', 'digest-user', 'mcp:tools', $1, now() + interval '1 hour' FROM g
       )
       INSERT INTO "RefreshToken" (id, "tokenHash", "grantId", "clientId", "userId", scope, resource, "expiresAt")
       SELECT 'rt-' || id, encode(sha256(convert_to('rt-' || id, 'UTF8')), 'hex'), id, 'digest-client', 'digest-user', 'mcp:tools', $1, now() + interval '1 day' FROM g`,
      [resource],
    );
    const access = sha256Hex("at-digest-grant-7");
    const refresh = sha256Hex("rt-digest-grant-7");

    const client = await pool.connect();
    try {
      await client.query(`ANALYZE "AccessToken"; ANALYZE "RefreshToken"; ANALYZE "Grant"`);
      for (const mode of ["force_custom_plan", "force_generic_plan"]) {
        await client.query(`SET plan_cache_mode = ${mode}`);
        expect({ mode, paths: await accessPaths(client, FIND_ACCESS_TOKEN.text, [access], "AccessToken") }).toEqual({ mode, paths: ["AccessToken_tokenHash_idx"] });
        // The refresh token's successor is read by id, the plan's second RefreshToken.
        const refreshPaths = await accessPaths(client, FIND_REFRESH_TOKEN.text, [refresh], "RefreshToken");
        expect({ mode, paths: refreshPaths.toSorted() }).toEqual({ mode, paths: ["RefreshToken_pkey", "RefreshToken_tokenHash_idx"] });
        // Introspection and revocation find them through Prisma: a plain equality on the digest.
        for (const table of ["AccessToken", "RefreshToken"]) {
          const paths = await accessPaths(client, `SELECT id FROM "${table}" WHERE "tokenHash" = $1 LIMIT 1`, [table === "AccessToken" ? access : refresh], table);
          expect({ mode, paths }).toEqual({ mode, paths: [`${table}_tokenHash_idx`] });
        }
      }
      // And the lookups find the right rows.
      expect((await client.query(FIND_ACCESS_TOKEN.text, [access])).rows[0]).toMatchObject({ id: "at-digest-grant-7", grantId: "digest-grant-7" });
      expect((await client.query(FIND_REFRESH_TOKEN.text, [refresh])).rows[0]).toMatchObject({ id: "rt-digest-grant-7", grantId: "digest-grant-7" });
    } finally {
      await client.query("RESET plan_cache_mode");
      client.release();
    }
  });
});
