/**
 * Runs once per `vitest run`: finds (or starts) a PostgreSQL server, builds a template database from the real
 * migrations, and drops databases left behind by earlier runs.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from "../../server/db/embedded.ts";
import { migrate, readMigrations } from "../../server/db/migrate.ts";
import { createLogger } from "../../server/logger.ts";
import { adminQuery, withDatabase } from "./database.ts";
import { createHash } from "node:crypto";
import pg from "pg";

/** The advisory lock key every test run on this database server holds shared while it runs. */
const RUNS_LOCK = 0x6d63706f; // "mcpo"

let embedded: EmbeddedPostgresHandle | undefined;
let embeddedDir: string | undefined;

export default async function setup(project: TestProject) {
  let serverUrl = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL;
  if (!serverUrl) {
    embeddedDir = mkdtempSync(path.join(os.tmpdir(), "mcp-oauth-test-pg-"));
    embedded = await startEmbeddedPostgres(embeddedDir, createLogger("warn"));
    serverUrl = embedded.url;
  }
  serverUrl = withDatabase(serverUrl, "postgres");

  const migrations = await readMigrations();
  const digest = createHash("sha256")
    .update(migrations.map((m) => m.checksum).join(","))
    .digest("hex")
    .slice(0, 12);
  const template = `mcp_oauth_template_${digest}`;

  // Runs on this machine (other checkouts may have other migration sets, so other templates) announce themselves
  // with a shared advisory lock held for the whole run. Only a run that can take the lock exclusively (no other run
  // going) drops the templates of other migration sets; test databases of runs that are not alive any more
  // (mcp_oauth_test_<pid>_<random>) are dropped either way.
  const guard = new pg.Client({ connectionString: serverUrl });
  await guard.connect();
  const { rows: lock } = await guard.query<{ alone: boolean }>("SELECT pg_try_advisory_lock($1) AS alone", [RUNS_LOCK]);
  const alone = lock[0]!.alone;
  const { rows } = await adminQuery<{ datname: string }>(
    serverUrl,
    `SELECT datname FROM pg_database WHERE datname LIKE 'mcp_oauth_test_%' OR (datname LIKE 'mcp_oauth_template_%' AND datname <> $1)`,
    [template],
  );
  const liveRun = (name: string) => {
    const pid = Number(/^mcp_oauth_test_(\d+)_/.exec(name)?.[1]);
    return Number.isInteger(pid) && pid > 0 && pid !== process.pid && isRunning(pid);
  };
  for (const row of rows) {
    if (liveRun(row.datname) || (!alone && row.datname.startsWith("mcp_oauth_template_"))) continue;
    await adminQuery(serverUrl, `DROP DATABASE IF EXISTS "${row.datname}" WITH (FORCE)`).catch(() => {});
  }
  await guard.query("SELECT pg_advisory_lock_shared($1)", [RUNS_LOCK]);
  if (alone) await guard.query("SELECT pg_advisory_unlock($1)", [RUNS_LOCK]);

  const exists = await adminQuery(serverUrl, "SELECT 1 FROM pg_database WHERE datname = $1", [template]);
  if (!exists.rowCount) {
    const building = `${template}_building`;
    await adminQuery(serverUrl, `DROP DATABASE IF EXISTS "${building}" WITH (FORCE)`);
    await adminQuery(serverUrl, `CREATE DATABASE "${building}"`);
    await migrate(withDatabase(serverUrl, building));
    await adminQuery(serverUrl, `ALTER DATABASE "${building}" RENAME TO "${template}"`);
  }

  project.provide("testDatabaseServer", serverUrl);
  project.provide("testDatabaseTemplate", template);
  project.provide("testRunPid", process.pid);

  return async () => {
    await guard.end().catch(() => {});
    await embedded?.stop();
    if (embeddedDir) rmSync(embeddedDir, { recursive: true, force: true });
  };
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
