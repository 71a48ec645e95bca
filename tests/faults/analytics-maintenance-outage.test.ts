/**
 * Faults: the database connection is reset while the analytics maintenance job (server/analytics/retention.ts) holds
 * a pooled client: the job fails with the connection error, and the process does not crash. A pooled client that is
 * checked out emits "error" when its connection drops; unheard, that event is an uncaught exception. Made
 * deterministic by holding the maintenance lock from another connection, so the job is waiting on it (client checked
 * out, statement in flight) when the proxy cuts every connection.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureAnalyticsPartitions } from "../../server/analytics/retention.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.ts";

let database: TestDatabase;
let proxy: TcpProxy;

beforeAll(async () => {
  database = await createTestDatabase();
  const real = new URL(database.url);
  proxy = await startTcpProxy({ host: real.hostname, port: Number(real.port || 5432) });
});

afterAll(async () => {
  await proxy?.close();
  await database?.drop();
});

describe("analytics maintenance when the connection drops (issue 18)", () => {
  it("fails the job with the connection error and raises nothing uncaught; the pool works again once the database is back", async () => {
    const uncaught: unknown[] = [];
    const record = (error: unknown) => uncaught.push(error);
    process.on("uncaughtException", record);
    const holder = new pg.Client({ connectionString: database.url });
    await holder.connect();
    const pool = new pg.Pool({ connectionString: proxy.urlFor(database.url), max: 2 });
    pool.on("error", () => {}); // idle clients, as server/db/client.ts does
    try {
      // The job's lock (retention.ts MAINTENANCE_LOCK), held elsewhere: the job waits on it with its client checked out.
      await holder.query("BEGIN; SELECT pg_advisory_xact_lock(72707018)");
      const job = ensureAnalyticsPartitions(pool).then(
        () => "finished",
        (error: Error) => error,
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      proxy.cut();
      const outcome = await job;
      expect(outcome).toBeInstanceOf(Error);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(uncaught).toEqual([]);

      proxy.restore();
      await holder.query("ROLLBACK");
      expect(await ensureAnalyticsPartitions(pool)).toBeGreaterThanOrEqual(0);
    } finally {
      process.off("uncaughtException", record);
      await holder.end().catch(() => {});
      await pool.end().catch(() => {});
    }
  });
});
