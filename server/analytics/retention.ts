/**
 * Retention: analytics rows older than ANALYTICS_RETENTION_DAYS are deleted, in slices of 5,000 so a large
 * backlog never holds long locks or one huge transaction.
 */
import { Prisma, type PrismaClient } from "../db/client.ts";
import type { AnalyticsMetrics } from "./metrics.ts";

const SLICE = 5_000;
/** One sweep stops after this long; the next run continues. */
const BUDGET_MS = 20_000;

export async function sweepAnalytics(
  deps: { prisma: PrismaClient; metrics?: AnalyticsMetrics },
  retentionDays: number,
  now = new Date(),
): Promise<{ requests: number; security: number }> {
  const cutoff = new Date(now.getTime() - retentionDays * 86_400_000);
  const started = Date.now();
  const deleted = { requests: 0, security: 0 };
  for (const [table, key] of [
    ["AnalyticsRequest", "requests"],
    ["AnalyticsSecurity", "security"],
  ] as const) {
    for (;;) {
      const count = await deps.prisma.$executeRaw`
        DELETE FROM ${Prisma.raw(`"${table}"`)} WHERE id IN (
          SELECT id FROM ${Prisma.raw(`"${table}"`)}
           WHERE "timestamp" < (${cutoff.toISOString()}::timestamptz AT TIME ZONE 'UTC')
           LIMIT ${SLICE})`;
      deleted[key] += count;
      deps.metrics?.retentionDeleted.inc({ table }, count);
      if (count < SLICE || Date.now() - started > BUDGET_MS) break;
    }
  }
  return deleted;
}
