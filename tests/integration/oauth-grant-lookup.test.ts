/**
 * Issue 14: redeeming a code reads the person's own grants, not every grant of the client. A client many people use
 * (an MCP host's CIMD client) holds a grant per person; the lookup of the grant a code widens (incremental consent)
 * went through "Grant_clientId_revokedAt_idx" and read all of them on every redemption, so PostgreSQL's CPU per
 * redemption grew with every person who had connected the client (bench/token.ts). Checked on the query plan, for
 * the plan PostgreSQL makes with the value and for the generic plan a prepared statement settles on.
 */
import type pg from "pg";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../server/crypto.ts";
import { FIND_CODE } from "../../server/oauth/grant-types/authorization-code.ts";
import { startTestServer } from "../helpers/server.ts";

interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  "Index Name"?: string;
  "Actual Rows"?: number;
  "Actual Loops"?: number;
  "Rows Removed by Filter"?: number;
  Plans?: PlanNode[];
}

function grantScans(plan: PlanNode, out: PlanNode[] = []): PlanNode[] {
  if (plan["Relation Name"] === "Grant") out.push(plan);
  for (const child of plan.Plans ?? []) grantScans(child, out);
  return out;
}

describe("the grant a code widens is found among the person's own grants (issue 14)", () => {
  it("reads one Grant row when the client holds 3,000 other people's live grants", async () => {
    const server = await startTestServer({ ANALYTICS_ENABLED: "false" });
    const pool: pg.Pool = server.services.db.pool;
    const resource = `${server.services.env.APP_URL}/mcp`;
    await pool.query(`INSERT INTO "User" (id, email, "updatedAt") SELECT 'lookup-user-' || i, 'lookup-' || i || '@example.test', now() FROM generate_series(0, 3000) i`);
    await pool.query(`
      INSERT INTO "Client" (id, "clientId", name, "redirectUris", "grantTypes", scope, "tokenEndpointAuthMethod", "updatedAt")
      VALUES ('lookup-client', 'lookup-client', 'Lookup', ARRAY['http://127.0.0.1:1/cb'], ARRAY['authorization_code', 'refresh_token'], 'mcp:tools', 'none', now())`);
    await pool.query(
      `INSERT INTO "Grant" (id, "userId", "clientId", scope, resource, "createdAt")
       SELECT 'lookup-grant-' || i, 'lookup-user-' || i, 'lookup-client', 'mcp:tools', $1, now() - make_interval(secs => i) FROM generate_series(0, 3000) i`,
      [resource],
    );
    const hash = sha256Hex("code-of-user-0");
    await pool.query(
      `INSERT INTO "AuthorizationCode" (id, "codeHash", "clientId", "userId", "redirectUri", "codeChallenge", scope, resource, "expiresAt")
       VALUES ('lookup-code', $1, 'lookup-client', 'lookup-user-0', 'http://127.0.0.1:1/cb', 'x', 'mcp:tools', $2, now() + interval '10 minutes')`,
      [hash, resource],
    );

    // Planned with the statistics of the empty tables (as a prepared statement planned on a young database keeps
    // its plan), then with statistics of the filled ones.
    const client = await pool.connect();
    try {
      for (const [stats, mode] of [
        ["as created", "force_custom_plan"],
        ["as created", "force_generic_plan"],
        ["analyzed", "force_custom_plan"],
        ["analyzed", "force_generic_plan"],
      ]) {
        if (stats === "analyzed") await client.query(`ANALYZE "Grant"; ANALYZE "User"; ANALYZE "AuthorizationCode"`);
        await client.query(`SET plan_cache_mode = ${mode}`);
        const { rows } = await client.query<{ "QUERY PLAN": Array<{ Plan: PlanNode }> }>({
          text: `EXPLAIN (ANALYZE, FORMAT JSON) ${FIND_CODE.text}`,
          values: [hash],
        });
        const scans = grantScans(rows[0]["QUERY PLAN"][0].Plan);
        expect(scans, `${stats}, ${mode}`).toHaveLength(1);
        const read = scans.reduce((n, s) => n + ((s["Actual Rows"] ?? 0) + (s["Rows Removed by Filter"] ?? 0)) * (s["Actual Loops"] ?? 1), 0);
        expect({ stats, mode, index: scans[0]["Index Name"], read }).toEqual({ stats, mode, index: "Grant_userId_clientId_resource_createdAt_idx", read: 1 });
      }
      // And the row it finds is that person's grant.
      const { rows } = await client.query(FIND_CODE.text, [hash]);
      expect(rows[0]).toMatchObject({ liveGrantId: "lookup-grant-0", userId: "lookup-user-0" });
    } finally {
      await client.query("RESET plan_cache_mode");
      client.release();
    }
  });
});
