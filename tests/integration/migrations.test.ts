/**
 * Migrations and schema agree: a database built from prisma/migrations has exactly the catalog of one built from
 * `prisma migrate diff --from-empty` of prisma/schema.prisma (drift check), and migrating twice is a no-op.
 */
import { execFileSync } from "node:child_process";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { migrate } from "../../server/db/migrate.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { adminQuery, withDatabase } from "../helpers/database.ts";
import { inject } from "vitest";

const CATALOG = `
  SELECT 'column' AS kind, table_name || '.' || column_name AS name,
         data_type || ':' || udt_name || ':' || is_nullable || ':' || coalesce(column_default, '') AS definition
    FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> '_prisma_migrations'
  UNION ALL
  SELECT 'index', indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename <> '_prisma_migrations'
  UNION ALL
  SELECT 'constraint', conrelid::regclass::text || '.' || conname, pg_get_constraintdef(oid)
    FROM pg_constraint WHERE connamespace = 'public'::regnamespace AND conrelid::regclass::text <> '_prisma_migrations'
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
});
