/**
 * Migrations and schema agree: a database built from prisma/migrations has exactly the catalog of one built from
 * `prisma migrate diff --from-empty` of prisma/schema.prisma (drift check), and migrating twice is a no-op.
 *
 * Partitions are not in the schema (Prisma does not model partitioning): the catalog compares the partitioned
 * parents (AnalyticsRequest, AnalyticsSecurity) and leaves their partitions out; a partitioned index prints as
 * `ON ONLY`, which is read as `ON`.
 */
import { execFileSync } from "node:child_process";
import { cp, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { migrate, migrationsDir } from "../../server/db/migrate.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { adminQuery, withDatabase } from "../helpers/database.ts";
import { inject } from "vitest";

const CATALOG = `
  WITH partitions AS (SELECT relname::text AS name FROM pg_class WHERE relispartition)
  SELECT 'column' AS kind, table_name || '.' || column_name AS name,
         data_type || ':' || udt_name || ':' || is_nullable || ':' || coalesce(column_default, '') AS definition
    FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> '_prisma_migrations'
     AND table_name NOT IN (SELECT name FROM partitions)
  UNION ALL
  SELECT 'index', indexname, replace(indexdef, ' ON ONLY ', ' ON ') FROM pg_indexes
   WHERE schemaname = 'public' AND tablename <> '_prisma_migrations' AND tablename NOT IN (SELECT name FROM partitions)
  UNION ALL
  SELECT 'constraint', conrelid::regclass::text || '.' || conname, pg_get_constraintdef(oid)
    FROM pg_constraint WHERE connamespace = 'public'::regnamespace AND conrelid::regclass::text <> '_prisma_migrations'
     AND NOT coalesce((SELECT relispartition FROM pg_class WHERE oid = conrelid), false)
     -- NOT NULL constraints (pg_constraint rows from PostgreSQL 18 on) are compared as the columns' is_nullable: their
     -- names depend on history (a table created while a renamed one held the same names gets "…_not_null1").
     AND contype <> 'n'
  UNION ALL
  SELECT 'enum', t.typname, string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
    FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY t.typname
  ORDER BY 1, 2`;

async function catalog(url: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(CATALOG)).rows;
  } finally {
    await client.end();
  }
}

describe("database migrations", () => {
  const created: TestDatabase[] = [];
  afterAll(async () => {
    for (const db of created) await db.drop();
  });

  it("match prisma/schema.prisma exactly (no drift)", async () => {
    const fromMigrations = await createTestDatabase();
    created.push(fromMigrations);
    const server = inject("testDatabaseServer");
    // The run's pid in the name (as createTestDatabase does), so a concurrent run's global setup leaves it alone.
    const name = `mcp_oauth_test_${inject("testRunPid")}_fromschema_${Date.now()}`;
    await adminQuery(server, `CREATE DATABASE "${name}"`);
    created.push({ name, url: withDatabase(server, name), drop: () => adminQuery(server, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).then(() => {}) });
    const sql = execFileSync("npx", ["prisma", "migrate", "diff", "--from-empty", "--to-schema-datamodel", "prisma/schema.prisma", "--script"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
    const client = new pg.Client({ connectionString: withDatabase(server, name) });
    await client.connect();
    await client.query(sql);
    await client.end();

    expect(await catalog(fromMigrations.url)).toEqual(await catalog(withDatabase(server, name)));
  }, 60_000);

  it("is idempotent: a migrated database applies nothing", async () => {
    const db = await createTestDatabase();
    created.push(db);
    expect(await migrate(db.url)).toEqual([]);
  });

  it("partitioning the analytics tables (issue 18) keeps their rows and builds their rollups", async () => {
    const server = inject("testDatabaseServer");
    const name = `mcp_oauth_test_${inject("testRunPid")}_partition_${Date.now()}`;
    await adminQuery(server, `CREATE DATABASE "${name}"`);
    created.push({ name, url: withDatabase(server, name), drop: () => adminQuery(server, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).then(() => {}) });
    const url = withDatabase(server, name);
    // The migrations before issue 18, then rows as the unpartitioned tables held them, then the rest.
    const before = await mkdtemp(path.join(tmpdir(), "migrations-"));
    try {
      for (const entry of (await readdir(migrationsDir)).filter((n) => n < "20261205060000")) {
        await cp(path.join(migrationsDir, entry), path.join(before, entry), { recursive: true });
      }
      await migrate(url, before);
    } finally {
      await rm(before, { recursive: true, force: true });
    }
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(`
        INSERT INTO "AnalyticsRequest" (id, "timestamp", method, endpoint, "statusCode", "responseTime", "clientId")
        SELECT 'r' || i, (now() AT TIME ZONE 'UTC') - make_interval(hours => i), 'GET', '/api/health', 200 + (i % 2) * 300, i, 'c1'
          FROM generate_series(1, 100) i`);
      await client.query(`
        INSERT INTO "AnalyticsSecurity" (id, "timestamp", "eventType", severity, "reviewedAt", "clientId")
        VALUES ('s1', now() AT TIME ZONE 'UTC', 'INVALID_TOKEN', 'low', now(), 'c1'), ('s2', now() AT TIME ZONE 'UTC', 'TOKEN_REUSE', 'high', NULL, NULL)`);
      expect((await migrate(url))[0]).toBe("20261205060000_analytics_scale_issue18");
      const count = async (sql: string) => Number((await client.query<{ n: string }>(sql)).rows[0].n);
      expect(await count(`SELECT count(*) AS n FROM "AnalyticsRequest"`)).toBe(100);
      expect(await count(`SELECT count(*) AS n FROM ONLY "AnalyticsRequest_default"`)).toBe(0);
      expect(await count(`SELECT count(*) AS n FROM pg_inherits WHERE inhparent = '"AnalyticsRequest"'::regclass`)).toBeGreaterThan(5);
      for (const grain of [60, 3600]) {
        expect(await count(`SELECT sum(requests) AS n FROM "AnalyticsTrafficRollup" WHERE grain = ${grain}`)).toBe(100);
        expect(await count(`SELECT sum(requests) AS n FROM "AnalyticsTrafficRollup" WHERE grain = ${grain} AND "statusCode" >= 500`)).toBe(50);
        expect(await count(`SELECT sum(requests) AS n FROM "AnalyticsUsageRollup" WHERE grain = ${grain} AND "clientId" = 'c1'`)).toBe(100);
        expect(await count(`SELECT sum(events) AS n FROM "AnalyticsSecurityRollup" WHERE grain = ${grain}`)).toBe(2);
        expect(await count(`SELECT sum(reviewed) AS n FROM "AnalyticsSecurityRollup" WHERE grain = ${grain}`)).toBe(1);
        // Built from AnalyticsSecurityRollup by the later migration (20261205120000_analytics_security_type_rollup).
        expect(await count(`SELECT sum(events) AS n FROM "AnalyticsSecurityTypeRollup" WHERE grain = ${grain}`)).toBe(2);
        expect(await count(`SELECT sum(reviewed) AS n FROM "AnalyticsSecurityTypeRollup" WHERE grain = ${grain} AND "eventType" = 'INVALID_TOKEN'`)).toBe(1);
        // And by client (20261205160000_analytics_security_client_rollup): the event without a client is not kept there.
        expect(await count(`SELECT sum(events) AS n FROM "AnalyticsSecurityClientRollup" WHERE grain = ${grain}`)).toBe(1);
        expect(await count(`SELECT sum(events) AS n FROM "AnalyticsSecurityClientRollup" WHERE grain = ${grain} AND "clientId" = 'c1'`)).toBe(1);
      }
    } finally {
      await client.end();
    }
  }, 60_000);
});
