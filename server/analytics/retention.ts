/**
 * Partitions and retention of the analytics tables (prisma/migrations/*_analytics_scale_issue18):
 * - `ensureAnalyticsPartitions`: the daily partitions of AnalyticsRequest and AnalyticsSecurity from yesterday to a
 *   week ahead, created by the jobs runner (and moved out of the DEFAULT partition if rows landed there first);
 * - `sweepAnalytics`: raw rows older than ANALYTICS_RAW_RETENTION_DAYS go by dropping their whole day's partition
 *   (no row-by-row DELETE, no trigger: the rollups keep their figures); rows the DEFAULT partition holds are
 *   deleted in slices; rollup rows older than ANALYTICS_ROLLUP_RETENTION_DAYS are deleted in slices.
 * Every statement runs under a short lock timeout, so maintenance never queues writers behind a long query for
 * long; several nodes serialize on an advisory lock instead of racing to create the same partition.
 */
import type pg from "pg";
import type { AnalyticsMetrics } from "./metrics.ts";

const RAW_TABLES = [
  ["AnalyticsRequest", "requests"],
  ["AnalyticsSecurity", "security"],
] as const;
/** Every rollup table (kept ANALYTICS_ROLLUP_RETENTION_DAYS). */
export const ROLLUP_TABLES = [
  "AnalyticsTrafficRollup",
  "AnalyticsUsageRollup",
  "AnalyticsSecurityRollup",
  "AnalyticsSecurityTypeRollup",
  "AnalyticsSecurityClientRollup",
] as const;
const SLICE = 5_000;
/** One sweep stops after this long; the next run continues. */
const BUDGET_MS = 20_000;
/** Any constant: the same for every node maintaining this database. */
const MAINTENANCE_LOCK = 72_707_018;
const DAY_MS = 86_400_000;

export interface RetentionDays {
  raw: number;
  rollup: number;
}

export interface SweepResult {
  /** Raw rows removed (dropped with their partitions, or deleted from the DEFAULT partition). */
  requests: number;
  security: number;
  /** Partitions dropped. */
  partitions: string[];
  /** Rollup rows deleted. */
  rollups: number;
}

async function maintenance<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  // A connection lost mid-maintenance (the database restarting, a network cut) fails the statement in flight, which
  // is thrown below; the client also emits "error", which, unheard on a checked-out client, would crash the process.
  const lost = () => {};
  client.on("error", lost);
  let failure: Error | undefined;
  try {
    await client.query("BEGIN");
    await client.query("SET LOCAL lock_timeout = '5s'");
    await client.query("SELECT pg_advisory_xact_lock($1)", [MAINTENANCE_LOCK]);
    const result = await work(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    failure = error as Error;
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    client.removeListener("error", lost);
    // After a failure the connection may be broken: the pool closes it rather than lending it again.
    client.release(failure);
  }
}

/** Creates the partitions for [today - 1 day, today + `daysAhead`) (UTC days); returns how many it created. */
export async function ensureAnalyticsPartitions(pool: pg.Pool, now = new Date(), daysAhead = 7): Promise<number> {
  const from = new Date(now.getTime() - DAY_MS).toISOString().slice(0, 10);
  const to = new Date(now.getTime() + (daysAhead + 1) * DAY_MS).toISOString().slice(0, 10);
  return maintenance(pool, async (client) => {
    let created = 0;
    for (const [table] of RAW_TABLES) {
      const { rows } = await client.query<{ n: number }>("SELECT analytics_ensure_partitions($1, $2::date, $3::date) AS n", [table, from, to]);
      created += rows[0].n;
    }
    return created;
  });
}

export async function sweepAnalytics(
  deps: { pool: pg.Pool; metrics?: AnalyticsMetrics },
  days: RetentionDays,
  now = new Date(),
): Promise<SweepResult> {
  const { pool, metrics } = deps;
  const rawCutoff = new Date(now.getTime() - days.raw * DAY_MS).toISOString();
  const rollupCutoff = new Date(now.getTime() - days.rollup * DAY_MS).toISOString();
  const started = Date.now();
  const result: SweepResult = { requests: 0, security: 0, partitions: [], rollups: 0 };

  for (const [table, key] of RAW_TABLES) {
    const dropped = await maintenance(pool, (client) =>
      client.query<{ partition_name: string; row_count: string }>(
        "SELECT partition_name, row_count FROM analytics_drop_partitions($1, ($2::timestamptz AT TIME ZONE 'UTC'))",
        [table, rawCutoff],
      ),
    );
    for (const row of dropped.rows) {
      result.partitions.push(row.partition_name);
      result[key] += Number(row.row_count);
      metrics?.retentionDeleted.inc({ table }, Number(row.row_count));
    }
    // Rows that landed in the DEFAULT partition (no day partition existed yet): deleted, their rollups kept.
    for (;;) {
      const { rowCount } = await maintenance(pool, async (client) => {
        await client.query("SELECT set_config('analytics.keep_rollups', 'on', true)");
        return client.query(
          `DELETE FROM "${table}_default" WHERE ctid IN (
             SELECT ctid FROM "${table}_default" WHERE "timestamp" < ($1::timestamptz AT TIME ZONE 'UTC') LIMIT ${SLICE})`,
          [rawCutoff],
        );
      });
      result[key] += rowCount ?? 0;
      metrics?.retentionDeleted.inc({ table }, rowCount ?? 0);
      if ((rowCount ?? 0) < SLICE || Date.now() - started > BUDGET_MS) break;
    }
  }

  for (const table of ROLLUP_TABLES) {
    for (const grain of [60, 3600, 86400]) {
      for (;;) {
        // "grain" on the DELETE too: the tables are partitioned by grain and a ctid is unique only within a
        // partition, so without it the slice's places deleted whatever sat there in the other grains' partitions.
        const { rowCount } = await pool.query(
          `DELETE FROM "${table}" WHERE "grain" = $1 AND ctid IN (
             SELECT ctid FROM "${table}" WHERE "grain" = $1 AND "bucket" < ($2::timestamptz AT TIME ZONE 'UTC') LIMIT ${SLICE})`,
          [grain, rollupCutoff],
        );
        result.rollups += rowCount ?? 0;
        if ((rowCount ?? 0) < SLICE || Date.now() - started > BUDGET_MS) break;
      }
    }
  }
  return result;
}
