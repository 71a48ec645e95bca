/**
 * Issue 18: dashboards whose cost does not grow with the traffic stored. Fills a scratch database with request rows
 * spread over 30 days (and 1 % as many security events) through the same triggers the batched writer's INSERTs
 * fire, so the rollups are what the writer would have produced; then times every dashboard query (the tRPC
 * `analytics` router and the console read these), the analytics API's first page, a client's recent raw rows (the
 * drill-down) and every Grafana Postgres panel, over 1 h, 24 h, 7 d and 30 d ranges ending now. Sizes grow in place
 * (1 M, then 10 M, …), so each size is filled once. The database is dropped at the end.
 *
 *   npx tsx bench/analytics-scale.ts
 *
 * Environment: BENCH_ROWS (comma-separated sizes, default "1000000,10000000"; add 30000000 for the issue's largest),
 * BENCH_REPEAT (runs per query, median reported; default 3), BENCH_DATABASE_URL (see bench/lib.ts), BENCH_SCRATCH_DB (a
 * database name to fill and keep instead of a fresh one dropped at the end; a later run only adds the missing rows).
 * Target: every query ≤ 500 ms at the largest size, and the largest within 1.5× of the smallest.
 */
import { readFileSync } from "node:fs";
import os from "node:os";
import pg from "pg";
import { createDatabase } from "../server/db/client.ts";
import {
  activeClients,
  analyticsOverview,
  busiestUsers,
  requestSummary,
  requestTimeSeries,
  securityEventSummary,
  tokensIssued,
  topClients,
  topEndpoints,
} from "../server/analytics/summaries.ts";
import { bucketSecondsFor, type TimeRange } from "../server/analytics/time-range.ts";
import { ROLLUP_TABLES } from "../server/analytics/retention.ts";
import { listSecurityEvents } from "../server/analytics/security-events.ts";
import { median, withBenchDatabase, withKeptDatabase } from "./lib.ts";

const SIZES = (process.env.BENCH_ROWS ?? "1000000,10000000").split(",").map(Number);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 3);
const DAYS = 30;
const RANGES: Array<[string, number]> = [
  ["1h", 3600_000],
  ["24h", 86_400_000],
  ["7d", 7 * 86_400_000],
  ["30d", 30 * 86_400_000],
];
/** Rows per INSERT: a day's share, at most this many (bounded statements, as the writer's batches are). */
const MAX_STATEMENT_ROWS = 200_000;

/**
 * Adds `count` request rows over the last 30 days (and count/100 security events), through the rollup triggers. Each
 * statement covers its own slice of a day, in time order, as a writer's successive batches do (so a statement's minute
 * rollups are new rows, and only its hour and day rows meet earlier statements').
 */
async function fill(pool: pg.Pool, count: number): Promise<void> {
  const perDay = Math.ceil(count / DAYS);
  const slices = Math.ceil(perDay / MAX_STATEMENT_ROWS);
  for (let day = 0; day < DAYS; day++) {
    for (let slice = 0; slice < slices; slice++) {
      const n = Math.min(MAX_STATEMENT_ROWS, perDay - slice * MAX_STATEMENT_ROWS);
      const start = day + slice / slices;
      const width = 1 / slices;
      // 100 clients, 300 users (each mostly on one or two clients), 9 routes, a realistic status mix, latencies
      // log-uniform between 0.2 ms and 2 s, OAuth errors on 400s.
      await pool.query(
        `INSERT INTO "AnalyticsRequest" (id, "timestamp", method, endpoint, "statusCode", "responseTime", "clientId", "userId", "ipAddress", "userAgent", "oauthError")
         SELECT gen_random_uuid()::text, ts, CASE WHEN e IN (4, 5) THEN 'GET' ELSE 'POST' END,
                (ARRAY['/mcp/mcp', '/mcp/mcp', '/mcp/mcp', '/api/oauth/token', '/api/health', '/.well-known/oauth-authorization-server',
                       '/api/oauth/authorize', '/api/oauth/register', '/admin'])[e],
                status, round((0.2 * exp(random() * ln(10000)))::numeric, 2)::float8,
                CASE WHEN random() < 0.9 THEN 'client-' || c END,
                CASE WHEN random() < 0.8 THEN 'user-' || ((c * 3 + (random() * 2)::int) % 300) END,
                '10.' || (c % 250) || '.' || (random() * 250)::int || '.' || (random() * 250)::int, 'bench/1.0',
                CASE WHEN status = 400 THEN 'invalid_grant' END
           FROM (SELECT (now() AT TIME ZONE 'UTC') - make_interval(secs => ($1 + $3 * random()) * 86400) AS ts,
                        1 + floor(random() * 9)::int AS e, floor(random() * 100)::int AS c,
                        (ARRAY[200, 200, 200, 200, 200, 200, 200, 200, 202, 302, 400, 401, 401, 403, 404, 429, 500, 503])[1 + floor(random() * 18)::int] AS status
                   FROM generate_series(1, $2)) g
          ORDER BY ts`,
        [start, n, width],
      );
      await pool.query(SECURITY_EVENTS, [start, Math.max(1, Math.round(n / 100)), width]);
    }
    process.stdout.write(".");
  }
  process.stdout.write("\n");
  for (const table of ["AnalyticsRequest", "AnalyticsSecurity", ...ROLLUP_TABLES]) {
    await pool.query(`VACUUM ANALYZE "${table}"`);
  }
}

/**
 * `$2` security events over [now - $1 - $3 days, now - $1 days], shaped as the server records them: the severity
 * follows the event type, a client's events come from its own three addresses, and events without a client (scans,
 * bad tokens) from 750 others.
 */
const SECURITY_EVENTS = `
  INSERT INTO "AnalyticsSecurity" (id, "timestamp", "eventType", severity, "clientId", "ipAddress", details)
  SELECT gen_random_uuid()::text, ts, (ARRAY['RATE_LIMIT_EXCEEDED', 'INVALID_TOKEN', 'INVALID_CLIENT', 'TOKEN_REUSE', 'PKCE_FAILURE'])[t],
         (ARRAY['medium', 'low', 'medium', 'high', 'medium'])[t], CASE WHEN c >= 0 THEN 'client-' || c END,
         CASE WHEN c >= 0 THEN '192.0.2.' || ((c * 3 + a) % 250) ELSE '198.51.' || (100 + a) || '.' || floor(random() * 250)::int END,
         '{"source": "bench"}'::jsonb
    FROM (SELECT (now() AT TIME ZONE 'UTC') - make_interval(secs => ($1 + $3 * random()) * 86400) AS ts, 1 + floor(random() * 5)::int AS t,
                 CASE WHEN random() < 0.7 THEN floor(random() * 100)::int ELSE -1 END AS c, floor(random() * 3)::int AS a
            FROM generate_series(1, $2)) g
   ORDER BY ts`;

/** Grafana's Postgres macros, as Grafana expands them for a range ending now (about 1,000 points per panel). */
function expandGrafana(sql: string, range: TimeRange): string {
  const iso = (d: Date) => `'${d.toISOString()}'`;
  const intervalMs = Math.max(1_000, Math.round((range.to.getTime() - range.from.getTime()) / 1_000));
  return sql
    .replaceAll("$__interval_ms", String(intervalMs))
    .replaceAll("$__interval", `${Math.round(intervalMs / 1000)}s`)
    .replace(/\$__timeFilter\(([^)]+)\)/g, (_m, col: string) => `${col} BETWEEN ${iso(range.from)} AND ${iso(range.to)}`)
    .replaceAll("$__timeFrom()", iso(range.from))
    .replaceAll("$__timeTo()", iso(range.to));
}

function grafanaQueries(): Array<{ name: string; sql: string }> {
  const out: Array<{ name: string; sql: string }> = [];
  for (const file of ["analytics", "security"]) {
    const dashboard = JSON.parse(readFileSync(`grafana/dashboards/${file}.json`, "utf8")) as {
      panels: Array<{ title: string; targets?: Array<{ rawSql?: string; format?: string }> }>;
    };
    for (const panel of dashboard.panels) {
      for (const target of panel.targets ?? []) {
        if (target.rawSql) out.push({ name: `grafana ${file}: ${panel.title}${target.format === "time_series" ? " (series)" : ""}`, sql: target.rawSql });
      }
    }
  }
  return out;
}

/** Median wall time (ms); NaN when a run fails (a 15 s query timeout, no connection within 2 s on a loaded machine). */
async function time(fn: () => Promise<unknown>): Promise<number> {
  const runs: number[] = [];
  for (let i = 0; i < REPEAT; i++) {
    const started = performance.now();
    try {
      await fn();
    } catch (error) {
      console.error(`  failed: ${(error as Error).message.split("\n")[0]}`);
      return Number.NaN;
    }
    runs.push(performance.now() - started);
  }
  return median(runs);
}

const scratch = process.env.BENCH_SCRATCH_DB;
const withDatabase = (fn: (url: string) => Promise<void>) => (scratch ? withKeptDatabase(scratch, fn) : withBenchDatabase("analytics_scale", fn));

await withDatabase(async (url) => {
  // The server's pool (15 s query timeout, as in production) for the timed queries; another without for filling.
  const db = createDatabase(url);
  const { prisma } = db;
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  const deps = { prisma };
  await pool.query(`SELECT analytics_ensure_partitions(t, current_date - ${DAYS + 1}, current_date + 2) FROM unnest(ARRAY['AnalyticsRequest', 'AnalyticsSecurity']) t`);
  const queries: Array<{ name: string; run: (range: TimeRange) => Promise<unknown> }> = [
    { name: "requestSummary", run: (r) => requestSummary(deps, r) },
    { name: "requestTimeSeries", run: (r) => requestTimeSeries(deps, r, bucketSecondsFor(r)) },
    { name: "tokensIssued", run: (r) => tokensIssued(deps, r, bucketSecondsFor(r)) },
    { name: "activeClients", run: (r) => activeClients(deps, r) },
    { name: "securityEventSummary", run: (r) => securityEventSummary(deps, r, bucketSecondsFor(r)) },
    { name: "topClients", run: (r) => topClients(deps, r) },
    { name: "busiestUsers", run: (r) => busiestUsers(deps, r) },
    { name: "topEndpoints", run: (r) => topEndpoints(deps, r) },
    { name: "analyticsOverview (console page, all of the above)", run: (r) => analyticsOverview(deps, r) },
    {
      name: "GET /api/analytics first page (100 rows + summary)",
      run: (r) =>
        Promise.all([
          prisma.analyticsRequest.findMany({ where: { timestamp: { gte: r.from, lt: r.to } }, orderBy: [{ timestamp: "desc" }, { id: "desc" }], take: 101 }),
          requestSummary(deps, r),
          topEndpoints(deps, r),
        ]),
    },
    { name: "console security events page (25 + count)", run: (r) => listSecurityEvents(deps, { from: r.from, to: r.to }, { direction: "forward", limit: 25 }) },
    {
      name: "drill-down: one client's latest 100 raw rows",
      run: (r) =>
        prisma.analyticsRequest.findMany({
          where: { clientId: "client-7", timestamp: { gte: r.from, lt: r.to } },
          orderBy: [{ timestamp: "desc" }, { id: "desc" }],
          take: 100,
        }),
    },
    ...grafanaQueries().map((q) => ({ name: q.name, run: (r: TimeRange) => db.pool.query(expandGrafana(q.sql, r)) })),
  ];

  const results = new Map<number, Map<string, number[]>>();
  let stored = Number((await pool.query<{ n: string }>(`SELECT count(*) AS n FROM "AnalyticsRequest"`)).rows[0].n);
  for (const size of SIZES) {
    const started = performance.now();
    process.stdout.write(`filling to ${size.toLocaleString("en")} rows `);
    if (size > stored) await fill(pool, size - stored);
    stored = Math.max(stored, size);
    // Statistics for tables a migration has just filled on a kept database (autovacuum would get there too).
    for (const table of ROLLUP_TABLES) await pool.query(`ANALYZE "${table}"`);
    const sizes = (
      await pool.query<{ table: string; rows: string; bytes: string }>(`
        SELECT t AS table, (SELECT count(*) FROM pg_class WHERE false)::text AS rows, pg_size_pretty(sum(pg_total_relation_size(c.oid))) AS bytes
          FROM unnest(ARRAY['AnalyticsRequest', 'AnalyticsTrafficRollup', 'AnalyticsUsageRollup', 'AnalyticsSecurityRollup']) t
          JOIN pg_class c ON c.relname = t OR c.relname LIKE t || '\\_p%' OR c.relname IN (t || '_default', t || '_minute', t || '_hour', t || '_day')
         GROUP BY t`)
    ).rows;
    const counts = (
      await pool.query<{ traffic: string; usage: string; security: string }>(`
        SELECT (SELECT count(*) FROM "AnalyticsTrafficRollup") AS traffic, (SELECT count(*) FROM "AnalyticsUsageRollup") AS usage,
               (SELECT count(*) FROM "AnalyticsSecurityRollup") AS security`)
    ).rows[0];
    console.log(
      `filled in ${((performance.now() - started) / 1000).toFixed(0)} s; rollup rows: traffic ${counts.traffic}, usage ${counts.usage}, security ${counts.security}; sizes: ${sizes.map((s) => `${s.table} ${s.bytes}`).join(", ")}`,
    );
    const bySize = new Map<string, number[]>();
    for (const query of queries) {
      const row: number[] = [];
      for (const [, ms] of RANGES) {
        const to = new Date();
        row.push(await time(() => query.run({ from: new Date(to.getTime() - ms), to })));
      }
      bySize.set(query.name, row);
    }
    results.set(size, bySize);
    console.log(`\n${size.toLocaleString("en")} rows, load average ${os.loadavg()[0].toFixed(2)}:`);
    console.log(`| query | ${RANGES.map(([r]) => r).join(" | ")} |\n|---|${RANGES.map(() => "---:").join("|")}|`);
    for (const query of queries) console.log(`| ${query.name} | ${bySize.get(query.name)!.map((ms) => ms.toFixed(1)).join(" | ")} |`);
  }
  await db.close();
  await pool.end();

  const [load1] = os.loadavg();
  console.log(`\nMedian of ${REPEAT} runs, ms; ranges end now. Load average at the end: ${load1.toFixed(2)} on ${os.cpus().length} CPUs (shared machine).\n`);
  const header = SIZES.map((s) => RANGES.map(([r]) => `${r} @${s >= 1e6 ? `${s / 1e6}M` : s}`).join(" | ")).join(" | ");
  console.log(`| query | ${header} |`);
  console.log(`|---|${SIZES.flatMap(() => RANGES.map(() => "---:")).join("|")}|`);
  for (const query of queries) {
    const cells = SIZES.flatMap((size) => results.get(size)!.get(query.name)!.map((ms) => ms.toFixed(1)));
    console.log(`| ${query.name} | ${cells.join(" | ")} |`);
  }
  const worst = (size: number) => Math.max(...[...results.get(size)!.values()].flat());
  const largest = SIZES.at(-1)!;
  console.log(`\nSlowest query at ${largest.toLocaleString("en")} rows: ${worst(largest).toFixed(1)} ms (target ≤ 500 ms).`);
  if (SIZES.length > 1) {
    const ratios = queries.map((q) => {
      const small = results.get(SIZES[0])!.get(q.name)!;
      const big = results.get(largest)!.get(q.name)!;
      return Math.max(...big.map((ms, i) => ms / Math.max(1, small[i])));
    });
    console.log(`Worst ratio ${largest.toLocaleString("en")} vs ${SIZES[0].toLocaleString("en")} rows (times under 1 ms counted as 1 ms): ${Math.max(...ratios).toFixed(2)}× (target ≤ 1.5×).`);
  }
});
