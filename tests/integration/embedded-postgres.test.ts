import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
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
});
