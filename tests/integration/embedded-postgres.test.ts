import { execFile } from "node:child_process";
import { chmodSync, cpSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import pg from "pg";
import { isRunning, startEmbeddedPostgres } from "../../server/db/embedded.ts";
import { packagedBinaries } from "../../server/db/postgres-process.ts";
import { startServer } from "../../server/http/server.ts";
import { loadRemixBuild } from "../../server/http/remix.ts";
import { createLogger } from "../../server/logger.ts";
import { testEnv } from "../helpers/server.ts";
import { captureLog } from "../observability/support.ts";

describe("embedded PostgreSQL (DATABASE_URL unset)", () => {
  it("initialises a cluster in DATA_DIR, migrates it, and keeps the data across a restart", async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), "mcp-oauth-embedded-"));
    const build = await loadRemixBuild();
    const log = createLogger("silent");
    const env = testEnv({ DATABASE_URL: undefined, DATA_DIR: dataDir });
    expect(env.DATABASE_URL).toBeUndefined();
    try {
      const first = await startServer(env, { build, log, port: 0, host: "127.0.0.1" });
      try {
        const res = await fetch(`${first.url}/api/health`);
        expect(await res.json()).toMatchObject({ status: "healthy", database: "connected" });
        await first.services.prisma.user.create({ data: { email: "kept@example.com" } });
      } finally {
        await first.close(2_000);
      }
      // Stopped: nothing listens on the embedded server's port any more.
      await expect(first.services.prisma.user.count()).rejects.toThrow();

      const second = await startServer(env, { build, log, port: 0, host: "127.0.0.1" });
      try {
        expect(await second.services.prisma.user.findUnique({ where: { email: "kept@example.com" } })).not.toBeNull();
        expect((await fetch(`${second.url}/api/health`)).status).toBe(200);
      } finally {
        await second.close(2_000);
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);

  it("a second start on a data directory whose server is running attaches to it (the operator CLI while the server runs)", async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), "mcp-oauth-embedded-"));
    chmodSync(dataDir, 0o711);
    const log = createLogger("silent");
    try {
      const running = await startEmbeddedPostgres(dataDir, log);
      try {
        const attached = await startEmbeddedPostgres(dataDir, log);
        expect(attached.url).toBe(running.url);
        const client = new pg.Client({ connectionString: attached.url });
        await client.connect();
        expect((await client.query("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
        await client.end();
        // Stopping the attached handle leaves the server's postmaster running.
        await attached.stop();
        const again = new pg.Client({ connectionString: running.url });
        await again.connect();
        await again.end();
      } finally {
        await running.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 90_000);

  it("npm run db:migrate on it exits 0; a process that exits without stopping it takes the server down with it", async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), "mcp-oauth-embedded-"));
    chmodSync(dataDir, 0o711); // root runs PostgreSQL as `postgres`, which must reach DATA_DIR
    const env = { ...process.env, DATABASE_URL: "", DATA_DIR: dataDir, LOG_LEVEL: "silent" };
    try {
      const migrated = await run("npx", ["tsx", "scripts/migrate.ts"], { env });
      expect(migrated.stdout).toMatch(/Applied: |Database is up to date/);
      expect(migrated.stderr).not.toMatch(/TypeError|done is not a function/);

      // Started, never stopped, then process.exit(): the exit safety net sends the postmaster a fast shutdown.
      const script = `
        import { readFileSync } from "node:fs";
        import { startEmbeddedPostgres } from "./server/db/embedded.ts";
        import { createLogger } from "./server/logger.ts";
        await startEmbeddedPostgres(${JSON.stringify(dataDir)}, createLogger("silent"));
        console.log(readFileSync(${JSON.stringify(path.join(dataDir, "postgres/postmaster.pid"))}, "utf8").split("\\n")[0]);
        process.exit(0);`;
      const abandoned = await run("npx", ["tsx", "--input-type=module", "-e", script], { env });
      const pid = Number(abandoned.stdout.trim().split("\n").at(-1));
      expect(pid).toBeGreaterThan(0);
      expect(abandoned.stderr).not.toMatch(/TypeError/);
      await expect.poll(() => isRunning(pid), { timeout: 10_000, interval: 100 }).toBe(false);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});

const run = promisify(execFile);

describe.runIf(process.getuid?.() === 0)("embedded PostgreSQL as root, in a folder the OS user postgres cannot reach (/root/app)", () => {
  it("runs a reachable copy of the binaries on a data directory it can reach, says where in the log, and reuses both", async () => {
    // Like /root/app: a root-only (0700) folder holding the app's node_modules (the binaries) and DATA_DIR.
    const locked = mkdtempSync(path.join(os.tmpdir(), "mcp-oauth-root-app-"));
    const base = mkdtempSync(path.join(os.tmpdir(), "mcp-oauth-reachable-"));
    chmodSync(base, 0o755);
    try {
      expect(statSync(locked).mode & 0o777).toBe(0o700);
      const packaged = await packagedBinaries();
      const lockedHome = path.join(locked, "node_modules", "native");
      cpSync(packaged.home, lockedHome, { recursive: true, verbatimSymlinks: true });
      const binaries = { home: lockedHome, version: packaged.version };
      const dataDir = path.join(locked, ".data");
      mkdirSync(dataDir);

      const first = captureLog("info");
      const started = await startEmbeddedPostgres(dataDir, first.log, { reachableBase: base, binaries });
      let clusterDir: string;
      try {
        const text = first.lines.join("\n");
        expect(text).toContain(`running the copy in ${base}/postgresql-${packaged.version}`);
        clusterDir = /embedded PostgreSQL data directory: (\S+) \(the OS user postgres, which runs it, cannot reach DATA_DIR/.exec(text)?.[1] ?? "";
        expect(clusterDir.startsWith(`${base}/data-`)).toBe(true);
        expect(text).toContain(`${locked} is not traversable`);
        const owner = statSync(clusterDir);
        expect(owner.mode & 0o777).toBe(0o700);
        expect(owner.uid).not.toBe(0);
        await query(started.url, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('across restarts')");
      } finally {
        await started.stop();
      }

      const second = captureLog("info");
      const again = await startEmbeddedPostgres(dataDir, second.log, { reachableBase: base, binaries });
      try {
        expect(second.lines.join("\n")).not.toContain("initialising embedded PostgreSQL");
        expect(second.lines.join("\n")).toContain(clusterDir);
        expect((await query(again.url, "SELECT v FROM kept")).rows).toEqual([{ v: "across restarts" }]);
        expect((await query(again.url, "SHOW server_encoding")).rows).toEqual([{ server_encoding: "UTF8" }]);
      } finally {
        await again.stop();
      }
    } finally {
      rmSync(locked, { recursive: true, force: true });
      rmSync(base, { recursive: true, force: true });
    }
  }, 120_000);
});

async function query(url: string, sql: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}
