/**
 * One fresh database per test file: `CREATE DATABASE … TEMPLATE` of a template migrated once per run
 * (tests/helpers/global-setup.ts). The server is TEST_DATABASE_URL, else DATABASE_URL, else an embedded PostgreSQL
 * started by the global setup.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { inject } from "vitest";

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

export function withDatabase(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

export async function adminQuery<T extends pg.QueryResultRow = pg.QueryResultRow>(
  serverUrl: string,
  sql: string,
  params: unknown[] = [],
): Promise<pg.QueryResult<T>> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await client.query<T>(sql, params);
  } finally {
    await client.end();
  }
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = inject("testDatabaseServer");
  const template = inject("testDatabaseTemplate");
  // The vitest process's pid is in the name, so a concurrent run's global setup knows this database is in use.
  const name = `mcp_oauth_test_${inject("testRunPid")}_${randomBytes(6).toString("hex")}`;
  await adminQuery(serverUrl, `CREATE DATABASE "${name}" TEMPLATE "${template}"`);
  return {
    name,
    url: withDatabase(serverUrl, name),
    async drop() {
      await adminQuery(serverUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => {});
    },
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    testDatabaseServer: string;
    testDatabaseTemplate: string;
    testRunPid: number;
  }
}
