import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { isRunning } from "../../server/db/embedded.ts";
import { startServer } from "../../server/http/server.ts";
import { loadRemixBuild } from "../../server/http/remix.ts";
import { createLogger } from "../../server/logger.ts";
import { testEnv } from "../helpers/server.ts";

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
  }, 60_000);

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
  }, 60_000);
});

const run = promisify(execFile);
