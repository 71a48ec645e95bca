/**
 * Issue 18: the rollups every dashboard reads equal the raw rows they summarise (counts, status classes, latency
 * histogram; percentiles within one bucket), across a retried batch and a restart mid-batch; retention drops whole
 * partitions and keeps the rollups; the dashboard shows the same figures from rollups as from the raw rows.
 * Issue 13: one bad row does not lose the other rows of its batch.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { createMetrics } from "../../server/analytics/metrics.ts";
import { analyticsOverview, LATENCY_BUCKETS_MS, requestSummary } from "../../server/analytics/summaries.ts";
import { listSecurityEvents, type SecurityEventFilter } from "../../server/analytics/security-events.ts";
import type { TimeRange } from "../../server/analytics/time-range.ts";
import { AnalyticsRecorder, type RequestRow } from "../../server/analytics/recorder.ts";
import { createLogger } from "../../server/logger.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { parseExposition, sampleValue } from "../observability/support.ts";

const MINUTE = 60_000;
const DAY = 86_400_000;
const ENDPOINTS = ["/mcp/mcp", "/api/oauth/token", "/api/oauth/authorize", "/api/health", "/build/*"];
const STATUSES = [200, 200, 200, 200, 201, 302, 400, 401, 403, 429, 500, 503];

/** A deterministic generator (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` requests spread over [from, to): several endpoints, statuses, clients, users and latencies (0.1 ms – 20 s). */
function traffic(count: number, from: number, to: number, seed = 18): RequestRow[] {
  const next = random(seed);
  const pick = <T>(items: T[]) => items[Math.floor(next() * items.length)];
  return Array.from({ length: count }, () => {
    const statusCode = pick(STATUSES);
    return {
      timestamp: new Date(from + Math.floor(next() * (to - from))),
      method: next() < 0.8 ? "POST" : "GET",
      endpoint: pick(ENDPOINTS),
      statusCode,
      responseTime: Math.round(Math.exp(next() * Math.log(200_000)) * 10) / 100,
      clientId: next() < 0.9 ? `client-${Math.floor(next() * 7)}` : null,
      userId: next() < 0.7 ? `user-${Math.floor(next() * 5)}` : null,
      oauthError: statusCode === 400 ? pick(["invalid_grant", "invalid_request"]) : null,
    };
  });
}

function recorderFor(server: TestServer, pool: pg.Pool = server.services.db.pool) {
  const metrics = createMetrics({ pool: server.services.db.pool, probeDatabase: async () => ({ up: true }), version: "t", nodeDefaults: false });
  const recorder = new AnalyticsRecorder({ pool, metrics, log: createLogger("silent"), flushIntervalMs: 60_000, batchSize: 1_000 });
  return { recorder, metrics };
}

const LE = ["le1", "le2p5", "le5", "le10", "le25", "le50", "le100", "le250", "le500", "le1000", "le2500", "le5000", "le10000"];

/** Rollup rows as the trigger keeps them, and the same figures computed from the raw rows: they must be equal. */
async function trafficRollupVsRaw(pool: pg.Pool) {
  const columns = `grain, bucket, endpoint, method, status, error, requests::int, round(latency::numeric, 3)::text AS latency, ${LE.map((c) => `${c}::int`).join(", ")}`;
  const fromRollup = await pool.query(`
    SELECT ${columns} FROM (
      SELECT grain, bucket, endpoint, method, "statusCode" AS status, "oauthError" AS error, requests, "latencySum" AS latency,
             ${LE.map((c) => `"${c}" AS ${c}`).join(", ")}
        FROM "AnalyticsTrafficRollup" WHERE requests <> 0) r
     ORDER BY 1, 2, 3, 4, 5, 6`);
  const fromRaw = await pool.query(`
    SELECT ${columns} FROM (
      SELECT g AS grain, date_bin(make_interval(secs => g), "timestamp", TIMESTAMP '2000-01-01') AS bucket, endpoint, method,
             "statusCode" AS status, coalesce("oauthError", '') AS error, count(*) AS requests, sum("responseTime") AS latency,
             ${LATENCY_BUCKETS_MS.map((b, i) => `count(*) FILTER (WHERE "responseTime" <= ${b}) AS ${LE[i]}`).join(", ")}
        FROM "AnalyticsRequest" CROSS JOIN (VALUES (60), (3600), (86400)) AS v(g)
       GROUP BY 1, 2, 3, 4, 5, 6) r
     ORDER BY 1, 2, 3, 4, 5, 6`);
  const usageRollup = await pool.query(`
    SELECT grain, bucket, "clientId", "userId", requests, "clientErrors", "serverErrors" FROM "AnalyticsUsageRollup"
     WHERE requests <> 0 ORDER BY 1, 2, 3, 4`);
  const usageRaw = await pool.query(`
    SELECT g AS grain, date_bin(make_interval(secs => g), "timestamp", TIMESTAMP '2000-01-01') AS bucket,
           coalesce("clientId", '') AS "clientId", coalesce("userId", '') AS "userId", count(*)::int AS requests,
           (count(*) FILTER (WHERE "statusCode" BETWEEN 400 AND 499))::int AS "clientErrors",
           (count(*) FILTER (WHERE "statusCode" >= 500))::int AS "serverErrors"
      FROM "AnalyticsRequest" CROSS JOIN (VALUES (60), (3600), (86400)) AS v(g)
     WHERE "clientId" IS NOT NULL OR "userId" IS NOT NULL
     GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`);
  return { traffic: [fromRollup.rows, fromRaw.rows], usage: [usageRollup.rows, usageRaw.rows] };
}

async function expectRollupsEqualRaw(pool: pg.Pool, rows: number) {
  const { traffic: t, usage: u } = await trafficRollupVsRaw(pool);
  expect(t[1].length).toBeGreaterThan(0);
  expect(t[0]).toEqual(t[1]);
  expect(u[0]).toEqual(u[1]);
  const { rows: sums } = await pool.query<{ grain: number; n: string }>(
    `SELECT grain, sum(requests) AS n FROM "AnalyticsTrafficRollup" GROUP BY 1 ORDER BY 1`,
  );
  expect(sums.map((s) => [s.grain, Number(s.n)])).toEqual([
    [60, rows],
    [3600, rows],
    [86400, rows],
  ]);
}

/** The bucket [lower, upper] (ms) of the histogram a latency falls in. */
function bucketOf(ms: number): [number, number] {
  const i = LATENCY_BUCKETS_MS.findIndex((b) => ms <= b);
  if (i === -1) return [LATENCY_BUCKETS_MS.at(-1)!, LATENCY_BUCKETS_MS.at(-1)!];
  return [i === 0 ? 0 : LATENCY_BUCKETS_MS[i - 1], LATENCY_BUCKETS_MS[i]];
}

describe("rollups equal the raw rows they summarise", () => {
  it("for generated traffic over three hours: per minute, hour and day, endpoint, method, status, error, client and user", async () => {
    const server = await startTestServer({ ANALYTICS_ENABLED: "false" });
    const { recorder } = recorderFor(server);
    const now = Date.now();
    const rows = traffic(3_000, now - 3 * 3600_000, now);
    for (const row of rows) recorder.recordRequest(row);
    await recorder.flush();
    await recorder.close();
    expect(await server.services.prisma.analyticsRequest.count()).toBe(3_000);
    await expectRollupsEqualRaw(server.services.db.pool, 3_000);
  });

  it("across a retried batch: a write that committed but whose answer was lost is not counted twice", async () => {
    const server = await startTestServer({ ANALYTICS_ENABLED: "false" });
    const { pool } = server.services.db;
    // The connection drops after the database committed the batch: the writer sees an error and retries it.
    let drops = 1;
    const flaky = {
      query: async (sql: string, params: unknown[]) => {
        const result = await pool.query(sql, params);
        if (drops-- > 0) throw Object.assign(new Error("Connection terminated unexpectedly"), { code: undefined });
        return result;
      },
    } as unknown as pg.Pool;
    const { recorder, metrics } = recorderFor(server, flaky);
    const now = Date.now();
    for (const row of traffic(400, now - 2 * 3600_000, now, 7)) recorder.recordRequest(row);
    await recorder.flush(); // commits, then "fails": the rows go back to the buffer
    expect(recorder.size).toBe(400);
    await recorder.flush(); // the retry: every row is already stored
    expect(recorder.size).toBe(0);
    const samples = parseExposition(await metrics.registry.metrics()).samples;
    expect(sampleValue(samples, "analytics_flush_errors_total")).toBe(1);
    // Skipped as already stored (ON CONFLICT DO NOTHING), not refused as duplicates and dropped.
    expect(sampleValue(samples, "analytics_dropped_total", { table: "AnalyticsRequest", reason: "bad_row" })).toBe(0);
    expect(await server.services.prisma.analyticsRequest.count()).toBe(400);
    await expectRollupsEqualRaw(pool, 400);
  });

  it("across a restart mid-batch: a batch whose transaction never committed counts nowhere; writing resumes after", async () => {
    const server = await startTestServer({ ANALYTICS_ENABLED: "false" });
    const { pool } = server.services.db;
    const first = recorderFor(server);
    const now = Date.now();
    for (const row of traffic(300, now - 2 * 3600_000, now, 3)) first.recorder.recordRequest(row);
    await first.recorder.close();

    // A batch in flight when the process died: inserted (the triggers ran) but not committed.
    const dying = new pg.Client({ connectionString: server.database.url });
    await dying.connect();
    dying.on("error", () => {});
    await dying.query("BEGIN");
    await dying.query(`
      INSERT INTO "AnalyticsRequest" (id, "timestamp", method, endpoint, "statusCode", "responseTime", "clientId")
      SELECT 'lost-' || i, (now() AT TIME ZONE 'UTC') - make_interval(mins => i), 'POST', '/mcp/mcp', 200, i, 'client-1'
        FROM generate_series(1, 100) i`);
    const { rows } = await dying.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
    await pool.query("SELECT pg_terminate_backend($1)", [rows[0].pid]);
    await dying.end().catch(() => {});

    // The next process writes on.
    const second = recorderFor(server);
    for (const row of traffic(200, now - 3600_000, now, 4)) second.recorder.recordRequest(row);
    await second.recorder.close();
    expect(await server.services.prisma.analyticsRequest.count()).toBe(500);
    await expectRollupsEqualRaw(pool, 500);
  });

  it("security events: per type, severity, client and address (and per client alone), with `reviewed` following reviewedAt", async () => {
    const server = await startTestServer({ ANALYTICS_ENABLED: "false" });
    const { recorder } = recorderFor(server);
    const now = Date.now();
    const next = random(5);
    for (let i = 0; i < 500; i++) {
      recorder.recordSecurity({
        timestamp: new Date(now - Math.floor(next() * 3 * 3600_000)),
        eventType: ["RATE_LIMIT_EXCEEDED", "INVALID_TOKEN", "TOKEN_REUSE"][i % 3],
        severity: ["low", "medium", "high", "critical"][i % 4],
        clientId: i % 5 ? `client-${i % 3}` : null,
        ipAddress: `198.51.100.${i % 9}`,
      });
    }
    await recorder.close();
    const ids = (await server.services.prisma.analyticsSecurity.findMany({ where: { eventType: "TOKEN_REUSE" }, select: { id: true } })).map((r) => r.id);
    await server.services.prisma.analyticsSecurity.updateMany({ where: { id: { in: ids.slice(0, 40) } }, data: { reviewedAt: new Date() } });
    const { pool } = server.services.db;
    const fromRollup = await pool.query(`
      SELECT grain, bucket, "eventType", severity, "clientId", "ipAddress", events, reviewed FROM "AnalyticsSecurityRollup"
       WHERE events <> 0 ORDER BY 1, 2, 3, 4, 5, 6`);
    const fromRaw = await pool.query(`
      SELECT g AS grain, date_bin(make_interval(secs => g), "timestamp", TIMESTAMP '2000-01-01') AS bucket, "eventType", severity,
             coalesce("clientId", '') AS "clientId", coalesce("ipAddress", '') AS "ipAddress", count(*)::int AS events,
             (count(*) FILTER (WHERE "reviewedAt" IS NOT NULL))::int AS reviewed
        FROM "AnalyticsSecurity" CROSS JOIN (VALUES (60), (3600), (86400)) AS v(g)
       GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6`);
    expect(fromRollup.rows.length).toBeGreaterThan(100);
    expect(fromRollup.rows).toEqual(fromRaw.rows);
    // The same events by type and severity only; a deletion subtracts from both.
    await server.services.prisma.analyticsSecurity.deleteMany({ where: { id: { in: ids.slice(30, 50) } } });
    const byType = async (table: string) =>
      (await pool.query(`
        SELECT grain, bucket, "eventType", severity, sum(events)::int AS events, sum(reviewed)::int AS reviewed FROM "${table}"
         GROUP BY 1, 2, 3, 4 HAVING sum(events) <> 0 ORDER BY 1, 2, 3, 4`)).rows;
    const fromRawByType = await pool.query(`
      SELECT g AS grain, date_bin(make_interval(secs => g), "timestamp", TIMESTAMP '2000-01-01') AS bucket, "eventType", severity,
             count(*)::int AS events, (count(*) FILTER (WHERE "reviewedAt" IS NOT NULL))::int AS reviewed
        FROM "AnalyticsSecurity" CROSS JOIN (VALUES (60), (3600), (86400)) AS v(g)
       GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`);
    expect(await byType("AnalyticsSecurityTypeRollup")).toEqual(fromRawByType.rows);
    expect(await byType("AnalyticsSecurityRollup")).toEqual(fromRawByType.rows);
    expect(fromRawByType.rows.reduce((n, r) => n + r.reviewed, 0)).toBe(3 * 30);
    // And by client only, events without a client left out (AnalyticsSecurityClientRollup).
    const byClient = await pool.query(`
      SELECT grain, bucket, "clientId", events FROM "AnalyticsSecurityClientRollup" WHERE events <> 0 ORDER BY 1, 2, 3`);
    const fromRawByClient = await pool.query(`
      SELECT g AS grain, date_bin(make_interval(secs => g), "timestamp", TIMESTAMP '2000-01-01') AS bucket, "clientId", count(*)::int AS events
        FROM "AnalyticsSecurity" CROSS JOIN (VALUES (60), (3600), (86400)) AS v(g)
       WHERE "clientId" IS NOT NULL GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`);
    expect(byClient.rows.length).toBeGreaterThan(10);
    expect(byClient.rows).toEqual(fromRawByClient.rows);
  });
});

describe("the security events list counts from the rollups what the raw rows hold", () => {
  it("for every filter: none, open and closed ranges, bounds mid-minute, type, severity, client, reviewed, one event, an issuer", async () => {
    const server = await startTestServer({ ANALYTICS_ENABLED: "false" });
    const { prisma } = server.services;
    const { recorder } = recorderFor(server);
    const now = Math.floor(Date.now() / MINUTE) * MINUTE;
    const next = random(7);
    for (let i = 0; i < 400; i++) {
      recorder.recordSecurity({
        timestamp: new Date(now - Math.floor(next() * 3 * DAY)),
        eventType: ["RATE_LIMIT_EXCEEDED", "INVALID_TOKEN", "ID_JAG_REJECTED"][i % 3],
        severity: ["low", "medium", "high"][i % 3],
        clientId: i % 4 ? `client-${i % 3}` : null,
        ipAddress: `198.51.100.${i % 50}`,
        details: i % 3 === 2 ? { issuer: `https://idp-${i % 2}.example` } : {},
      });
    }
    // Events in the partial minutes at the ends of the mid-minute ranges below (the console asks from "now - 24 h").
    for (const offset of [-5 * 3600_000 + 20_000, -5 * 3600_000 + 40_000, -3600_000 - 50_000, -3600_000 - 25_000]) {
      recorder.recordSecurity({ timestamp: new Date(now + offset), eventType: "INVALID_TOKEN", severity: "low", clientId: "client-1" });
    }
    await recorder.close();
    const reviewed = await prisma.analyticsSecurity.findMany({ where: { severity: "medium" }, select: { id: true }, take: 25 });
    await prisma.analyticsSecurity.updateMany({ where: { id: { in: reviewed.map((r) => r.id) } }, data: { reviewedAt: new Date() } });
    const minuteAligned = { from: new Date(now - DAY - 7 * 3600_000 - 13 * MINUTE), to: new Date(now - 2 * 3600_000 - 5 * MINUTE) };
    const midMinute = { from: new Date(now - 5 * 3600_000 + 17_500), to: new Date(now - 3600_000 - 20_250) };
    const filters: SecurityEventFilter[] = [
      {},
      minuteAligned,
      { from: minuteAligned.from },
      { to: minuteAligned.to },
      { ...minuteAligned, type: "INVALID_TOKEN" },
      { severity: "medium", reviewed: "unreviewed" },
      { severity: "medium", reviewed: "reviewed" },
      { ...minuteAligned, clientId: "client-1" },
      { clientId: "client-2", type: "ID_JAG_REJECTED" },
      { id: reviewed[0].id },
      { issuer: "https://idp-1.example" },
      // Bounds in the middle of a minute: the whole minutes from the rollups, the partial ones from the raw rows.
      midMinute,
      { from: midMinute.from },
      { to: midMinute.to },
      { ...midMinute, clientId: "client-1", type: "INVALID_TOKEN" },
      { from: new Date(now - 5 * 3600_000 + 10_000), to: new Date(now - 5 * 3600_000 + 50_000) },
    ];
    for (const filter of filters) {
      const page = await listSecurityEvents({ prisma }, filter, { direction: "forward", limit: 5 });
      const where = {
        ...(filter.id ? { id: filter.id } : {}),
        ...(filter.type ? { eventType: filter.type } : {}),
        ...(filter.severity ? { severity: filter.severity } : {}),
        ...(filter.clientId ? { clientId: filter.clientId } : {}),
        timestamp: { ...(filter.from ? { gte: filter.from } : {}), ...(filter.to ? { lt: filter.to } : {}) },
        ...(filter.reviewed === "reviewed" ? { reviewedAt: { not: null } } : filter.reviewed === "unreviewed" ? { reviewedAt: null } : {}),
        ...(filter.issuer ? { details: { path: ["issuer"], equals: filter.issuer } } : {}),
      };
      const expected = await prisma.analyticsSecurity.count({ where });
      expect({ filter, total: page.total }).toEqual({ filter, total: expected });
      expect(expected).toBeGreaterThan(0);
    }
  });

  it("counts no event whose raw row retention has removed (the rollups outlive the raw rows)", async () => {
    const server = await startTestServer({ ANALYTICS_ENABLED: "false", ANALYTICS_RAW_RETENTION_DAYS: "7" });
    const { prisma, db } = server.services;
    const { recorder } = recorderFor(server);
    const old = new Date(Date.now() - 10 * DAY);
    await db.pool.query(`SELECT analytics_ensure_partitions('AnalyticsSecurity', $1::date, ($1::date + 1))`, [old.toISOString().slice(0, 10)]);
    for (const timestamp of [old, old, new Date()]) recorder.recordSecurity({ timestamp, eventType: "INVALID_TOKEN", severity: "low" });
    await recorder.close();
    expect((await listSecurityEvents({ prisma }, {}, { direction: "forward", limit: 5 })).total).toBe(3);
    await server.services.jobs.run("analytics.retention");
    expect(await prisma.analyticsSecurity.count()).toBe(1);
    for (const filter of [{}, { from: new Date(Date.now() - 30 * DAY) }, { reviewed: "unreviewed" as const }]) {
      const page = await listSecurityEvents({ prisma }, filter, { direction: "forward", limit: 5 });
      expect({ filter, total: page.total, items: page.items.length }).toEqual({ filter, total: 1, items: 1 });
    }
  });
});

describe("the dashboard shows the same figures from rollups as from the raw rows", () => {
  it("summary, series, tokens, clients, users, endpoints and security; percentiles within one histogram bucket", async () => {
    const server = await startTestServer({ ANALYTICS_ENABLED: "false" });
    const { prisma, db } = server.services;
    const { recorder } = recorderFor(server);
    const now = Math.floor(Date.now() / MINUTE) * MINUTE;
    for (const row of traffic(6_000, now - 3 * DAY, now, 11)) recorder.recordRequest(row);
    recorder.recordSecurity({ timestamp: new Date(now - 30 * MINUTE), eventType: "TOKEN_REUSE", severity: "high", clientId: "client-1" });
    recorder.recordSecurity({ timestamp: new Date(now - 200 * MINUTE), eventType: "INVALID_TOKEN", severity: "low" });
    await recorder.close();

    // Minute-aligned ranges: one inside an hour, one across whole hours with partial hours at both ends, two across
    // whole days with partial days and hours at both ends (one ending now, one in the past).
    const ranges: TimeRange[] = [
      { from: new Date(now - 37 * MINUTE), to: new Date(now) },
      { from: new Date(now - 4 * 3600_000 - 23 * MINUTE), to: new Date(now - 7 * MINUTE) },
      { from: new Date(now - 2 * DAY - 5 * 3600_000 - 13 * MINUTE), to: new Date(now) },
      { from: new Date(now - 2 * DAY - 5 * 3600_000 - 13 * MINUTE), to: new Date(now - 3 * 3600_000 - 41 * MINUTE) },
    ];
    for (const range of ranges) {
      // A range of a day or more is read in whole hours: widened to the hours that hold its ends.
      const HOUR = 3600_000;
      const read =
        range.to.getTime() - range.from.getTime() >= DAY
          ? { from: new Date(Math.floor(range.from.getTime() / HOUR) * HOUR), to: new Date(Math.ceil(range.to.getTime() / HOUR) * HOUR) }
          : range;
      const [raw] = (
        await db.pool.query(
          `SELECT count(*)::int AS requests,
                  (count(*) FILTER (WHERE "statusCode" >= 500))::int AS server_errors,
                  (count(*) FILTER (WHERE "statusCode" BETWEEN 400 AND 499))::int AS client_errors,
                  count(DISTINCT "clientId")::int AS clients, count(DISTINCT "userId")::int AS users,
                  avg("responseTime") AS avg,
                  percentile_disc(0.5) WITHIN GROUP (ORDER BY "responseTime") AS p50,
                  percentile_disc(0.95) WITHIN GROUP (ORDER BY "responseTime") AS p95,
                  percentile_disc(0.99) WITHIN GROUP (ORDER BY "responseTime") AS p99,
                  (count(*) FILTER (WHERE endpoint = '/api/oauth/token' AND "statusCode" = 200))::int AS tokens
             FROM "AnalyticsRequest" WHERE "timestamp" >= $1::timestamptz AT TIME ZONE 'UTC' AND "timestamp" < $2::timestamptz AT TIME ZONE 'UTC'`,
          [read.from.toISOString(), read.to.toISOString()],
        )
      ).rows;
      const topClientsRaw = (
        await db.pool.query(
          `SELECT "clientId" AS id, count(*)::int AS requests, (count(*) FILTER (WHERE "statusCode" >= 400))::int AS errors
             FROM "AnalyticsRequest" WHERE "timestamp" >= $1::timestamptz AT TIME ZONE 'UTC' AND "timestamp" < $2::timestamptz AT TIME ZONE 'UTC'
              AND "clientId" IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1`,
          [read.from.toISOString(), read.to.toISOString()],
        )
      ).rows;
      const endpointsRaw = (
        await db.pool.query(
          `SELECT endpoint, count(*)::int AS requests FROM "AnalyticsRequest"
            WHERE "timestamp" >= $1::timestamptz AT TIME ZONE 'UTC' AND "timestamp" < $2::timestamptz AT TIME ZONE 'UTC'
              AND endpoint NOT IN ('/build/*', 'static') GROUP BY 1 ORDER BY 2 DESC, 1`,
          [read.from.toISOString(), read.to.toISOString()],
        )
      ).rows;
      // Chart steps as bucketSecondsFor gives them: whole hours from a day's range on.
      for (const step of read === range ? [600, 3600, 86400] : [3600, 86400]) {
        const overview = await analyticsOverview({ prisma }, range, step);
        expect(overview.requests).toMatchObject({
          requests: raw.requests,
          serverErrors: raw.server_errors,
          clientErrors: raw.client_errors,
          uniqueClients: raw.clients,
          uniqueUsers: raw.users,
        });
        expect(overview.requests.avgMs).toBeCloseTo(raw.avg, 1);
        for (const [estimate, exact] of [
          [overview.requests.p50Ms, raw.p50],
          [overview.requests.p95Ms, raw.p95],
          [overview.requests.p99Ms, raw.p99],
        ] as const) {
          const [lower, upper] = bucketOf(exact);
          expect(estimate).toBeGreaterThanOrEqual(lower);
          expect(estimate).toBeLessThanOrEqual(upper);
        }
        expect(overview.series.reduce((n, b) => n + b.requests, 0)).toBe(raw.requests);
        expect(overview.series.reduce((n, b) => n + b.serverErrors, 0)).toBe(raw.server_errors);
        expect(overview.tokens.total).toBe(raw.tokens);
        expect(overview.clients.inRange).toBe(raw.clients);
        expect(overview.topClients.map((c) => [c.clientDbId, c.requests, c.errors])).toEqual(
          topClientsRaw.slice(0, 10).map((c) => [c.id, c.requests, c.errors]),
        );
        expect(overview.topEndpoints.map((e) => [e.endpoint, e.requests])).toEqual(endpointsRaw.map((e) => [e.endpoint, e.requests]));
      }
    }
    // Grafana's panels call the same SQL functions: their figures are the console's.
    const panels = (JSON.parse(readFileSync("grafana/dashboards/analytics.json", "utf8")) as { panels: Array<{ title: string; type: string; targets?: Array<{ rawSql?: string }> }> }).panels;
    const grafana = async (title: string, type: string, range: TimeRange) => {
      const sql = panels.find((p) => p.title === title && p.type === type)!.targets![0].rawSql!
        .replaceAll("$__timeFrom()", `'${range.from.toISOString()}'`)
        .replaceAll("$__timeTo()", `'${range.to.toISOString()}'`)
        .replaceAll("$__interval_ms", "3600000");
      return (await db.pool.query(sql)).rows;
    };
    for (const range of ranges) {
      const overview = await analyticsOverview({ prisma }, range);
      expect(Number((await grafana("Requests", "stat", range))[0].requests)).toBe(overview.requests.requests);
      expect(Number((await grafana("Distinct clients", "stat", range))[0].clients)).toBe(overview.requests.uniqueClients);
      const series = await grafana("Requests", "timeseries", range);
      expect(series.reduce((n, r) => n + Number(r["5xx"]), 0)).toBe(overview.requests.serverErrors);
    }
    const wide = await analyticsOverview({ prisma }, ranges[1], 3600);
    expect(wide.security).toMatchObject({ total: 2, unreviewed: 2 });
    expect((await analyticsOverview({ prisma }, ranges[0], 60)).security.total).toBe(1);
  });
});

describe("retention (ANALYTICS_RAW_RETENTION_DAYS, ANALYTICS_ROLLUP_RETENTION_DAYS)", () => {
  it("drops whole day partitions of raw rows (and old rows of the DEFAULT partition), keeps the rollups; then drops old rollups", async () => {
    const server = await startTestServer({ ANALYTICS_ENABLED: "false", ANALYTICS_RAW_RETENTION_DAYS: "7", ANALYTICS_ROLLUP_RETENTION_DAYS: "12" });
    const { prisma, db } = server.services;
    const now = Date.now();
    const day = (n: number) => new Date(now - n * DAY).toISOString().slice(0, 10);
    await db.pool.query(`SELECT analytics_ensure_partitions('AnalyticsRequest', $1::date, $2::date)`, [day(10), day(9)]);
    const old = new Date(`${day(10)}T12:00:00Z`);
    const row = (timestamp: Date, i: number) => ({ timestamp, method: "GET", endpoint: "/api/health", statusCode: 200, responseTime: i });
    await prisma.analyticsRequest.createMany({
      data: [row(old, 1), row(old, 2), row(new Date(now - 9 * DAY), 3), row(new Date(now - 2 * DAY), 4), row(new Date(now - 14 * DAY), 5), row(new Date(), 6)],
    });
    const month = { from: new Date(now - 30 * DAY), to: new Date(now + MINUTE) };
    const before = await requestSummary({ prisma }, month);
    expect(before.requests).toBe(6);

    const swept = (await server.services.jobs.run("analytics.retention")) as { requests: number; partitions: string[]; rollups: number };
    expect(swept.partitions).toContain(`AnalyticsRequest_p${day(10).replaceAll("-", "")}`);
    expect(swept.requests).toBe(4); // two with their partition, two from the DEFAULT partition
    expect((await db.pool.query(`SELECT to_regclass($1) AS t`, [`"AnalyticsRequest_p${day(10).replaceAll("-", "")}"`])).rows[0].t).toBeNull();
    expect((await prisma.analyticsRequest.findMany({ orderBy: { responseTime: "asc" } })).map((r) => r.responseTime)).toEqual([4, 6]);
    // The rollups older than 12 days went (the 14-day-old row's minute, hour and day); the rest, raw rows gone or not, stay.
    expect(swept.rollups).toBe(3);
    const after = await requestSummary({ prisma }, month);
    expect(after).toEqual({ ...before, requests: 5, avgMs: after.avgMs, p50Ms: after.p50Ms, p95Ms: after.p95Ms, p99Ms: after.p99Ms });
    expect(await requestSummary({ prisma }, { from: new Date(now - 11 * DAY), to: new Date(now + MINUTE) })).toMatchObject({ requests: 5 });
  });

  it("drops old rollup rows of each grain only: a row's place in one grain's partition says nothing of the others", async () => {
    // The rollup tables are partitioned by grain, and a row's ctid is unique only within its partition: a sweep
    // deleting "WHERE ctid IN (old minute rows)" from the whole table also took the hour and day rows, however recent,
    // that sat at the same places in their own partitions.
    const server = await startTestServer({ ANALYTICS_ENABLED: "false", ANALYTICS_ROLLUP_RETENTION_DAYS: "12" });
    const { pool } = server.services.db;
    await pool.query(`
      INSERT INTO "AnalyticsUsageRollup" ("grain", "bucket", "clientId", "userId", "requests", "clientErrors", "serverErrors", "lastSeen")
      VALUES (60, now() - interval '20 days', 'old', '', 1, 0, 0, now() - interval '20 days'),
             (3600, date_trunc('hour', now()), 'recent', '', 1, 0, 0, now()),
             (86400, date_trunc('day', now()), 'recent', '', 1, 0, 0, now())`);
    await pool.query(`
      INSERT INTO "AnalyticsTrafficRollup" ("grain", "bucket", "endpoint", "method", "statusCode", "oauthError", "requests", "latencySum",
        "le1", "le2p5", "le5", "le10", "le25", "le50", "le100", "le250", "le500", "le1000", "le2500", "le5000", "le10000", "lastSeen")
      SELECT g, b, '/x', 'GET', 200, '', 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, b
        FROM (VALUES (3600, now() - interval '20 days'), (60, date_trunc('minute', now())), (86400, date_trunc('day', now()))) v(g, b)`);
    const swept = (await server.services.jobs.run("analytics.retention")) as { rollups: number };
    expect(swept.rollups).toBe(2);
    for (const table of ["AnalyticsUsageRollup", "AnalyticsTrafficRollup"]) {
      const { rows } = await pool.query<{ grain: number }>(`SELECT "grain" FROM "${table}" ORDER BY 1`);
      expect({ table, grains: rows.map((r) => r.grain) }).toEqual({ table, grains: table === "AnalyticsUsageRollup" ? [3600, 86400] : [60, 86400] });
    }
  });

  it("a day that takes writes while its partition is created is attached, its rows moved, none lost", async () => {
    // Between moving a day's rows out of the DEFAULT partition and attaching the day's partition, a row for that day
    // used to land in DEFAULT again, and ATTACH refused: the day could never get its partition while written to.
    const server = await startTestServer({ ANALYTICS_ENABLED: "false" });
    const { pool } = server.services.db;
    const day = new Date(Date.now() + 30 * DAY).toISOString().slice(0, 10);
    const insert = (n: number) =>
      `INSERT INTO "AnalyticsRequest" (id, "timestamp", method, endpoint, "statusCode", "responseTime")
       SELECT gen_random_uuid()::text, '${day}'::timestamp + make_interval(secs => i % 86400), 'GET', '/x', 200, 1 FROM generate_series(1, ${n}) i`;
    await pool.query(insert(50_000));
    const writer = new pg.Client({ connectionString: pool.options.connectionString });
    await writer.connect();
    let writes = 0;
    let writing = true;
    const written = (async () => {
      // One row every 5 ms for at most 10 s (bounded), until the partition is there.
      for (const stop = Date.now() + 10_000; writing && Date.now() < stop; writes++) {
        await writer.query(insert(1));
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const maintenance = await pool.connect();
    try {
      await maintenance.query("BEGIN");
      await maintenance.query(`SELECT analytics_ensure_partitions('AnalyticsRequest', $1::date, ($1::date + 1))`, [day]);
      await maintenance.query("COMMIT");
    } finally {
      await maintenance.query("ROLLBACK").catch(() => {});
      maintenance.release();
      writing = false;
      await written.catch(() => {});
      await writer.end();
    }
    await written;
    expect(writes).toBeGreaterThan(0);
    const partition = `AnalyticsRequest_p${day.replaceAll("-", "")}`;
    const count = async (table: string) => Number((await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ONLY "${table}"`)).rows[0].n);
    expect({ partition: await count(partition), default: await count("AnalyticsRequest_default") }).toEqual({ partition: 50_000 + writes, default: 0 });
  }, 30_000);

  it("partitions are created ahead, and rows that landed in the DEFAULT partition move into theirs", async () => {
    const server = await startTestServer({ ANALYTICS_ENABLED: "false" });
    const { db, prisma } = server.services;
    const far = new Date(Date.now() + 20 * DAY);
    await prisma.analyticsRequest.create({ data: { timestamp: far, method: "GET", endpoint: "/x", statusCode: 200, responseTime: 1 } });
    expect((await db.pool.query(`SELECT count(*)::int AS n FROM ONLY "AnalyticsRequest_default"`)).rows[0].n).toBe(1);
    await db.pool.query(`SELECT analytics_ensure_partitions('AnalyticsRequest', $1::date, ($1::date + 1))`, [far.toISOString().slice(0, 10)]);
    expect((await db.pool.query(`SELECT count(*)::int AS n FROM ONLY "AnalyticsRequest_default"`)).rows[0].n).toBe(0);
    expect(await prisma.analyticsRequest.count()).toBe(1);
    // The jobs runner keeps a week ahead.
    await server.services.jobs.run("analytics.partitions");
    const ahead = new Date(Date.now() + 6 * DAY).toISOString().slice(0, 10).replaceAll("-", "");
    for (const table of ["AnalyticsRequest", "AnalyticsSecurity"]) {
      expect((await db.pool.query(`SELECT to_regclass($1) AS t`, [`"${table}_p${ahead}"`])).rows[0].t).not.toBeNull();
    }
  });
});

describe("one bad row does not lose the other rows of its batch (issue 13)", () => {
  it("a NUL byte is made storable; a row the database refuses anyway is isolated, dropped and counted", async () => {
    const server = await startTestServer({ ANALYTICS_ENABLED: "false" });
    const { recorder, metrics } = recorderFor(server);
    const now = new Date();
    for (let i = 0; i < 20; i++) {
      recorder.recordSecurity({ timestamp: now, eventType: "INVALID_TOKEN", severity: "low", clientId: `client-${i}`, ipAddress: `203.0.113.${i}` });
      if (i === 7) {
        recorder.recordSecurity({ timestamp: now, eventType: "INVALID_CLIENT", severity: "low", clientId: "evil\u0000client", details: { "k\u0000": "v\u0000\ud800" } });
      }
      if (i === 13) {
        // Too large for a btree index entry whatever its encoding: the database refuses this row (SQLSTATE 54000).
        recorder.recordSecurity({ timestamp: now, eventType: "INVALID_CLIENT", severity: "low", clientId: randomBytes(150_000).toString("base64") });
      }
    }
    for (let i = 0; i < 5; i++) recorder.recordRequest({ timestamp: now, method: "GET", endpoint: "/a\u0000b", statusCode: 400, responseTime: 1, clientId: "\udc00x" });
    await recorder.flush();
    const { prisma } = server.services;
    expect(await prisma.analyticsSecurity.count({ where: { eventType: "INVALID_TOKEN" } })).toBe(20);
    const storable = await prisma.analyticsSecurity.findFirstOrThrow({ where: { eventType: "INVALID_CLIENT" } });
    expect(storable.clientId).toBe("evil\ufffdclient");
    expect(storable.details).toEqual({ "k\ufffd": "v\ufffd\ufffd" });
    expect(await prisma.analyticsSecurity.count()).toBe(21);
    expect(await prisma.analyticsRequest.count({ where: { endpoint: "/a\ufffdb", clientId: "\ufffdx" } })).toBe(5);
    const samples = parseExposition(await metrics.registry.metrics()).samples;
    expect(sampleValue(samples, "analytics_dropped_total", { table: "AnalyticsSecurity", reason: "bad_row" })).toBe(1);
    expect(sampleValue(samples, "analytics_dropped_total", { table: "AnalyticsSecurity", reason: "write_failed" })).toBe(0);
    expect(sampleValue(samples, "analytics_rows_written_total", { table: "AnalyticsSecurity" })).toBe(21);
    expect(recorder.size).toBe(0);
    await recorder.close();
  });
});

describe("a range reads only its own rollup rows, however many are stored (issue 18)", () => {
  /** Every scan of a rollup table in the plan of `sql`: its node type and index condition. */
  async function rollupScans(pool: pg.Pool, sql: string): Promise<Array<{ node: string; cond: string }>> {
    const client = await pool.connect();
    try {
      // Tiny test tables would be read whole anyway; with sequential scans priced out, what is left to check is that
      // both ends of every span are index conditions (known while planning), not filters applied to every row.
      await client.query("BEGIN; SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off");
      const { rows } = await client.query<{ "QUERY PLAN": Array<{ Plan: unknown }> }>(`EXPLAIN (FORMAT JSON) ${sql}`);
      const scans: Array<{ node: string; cond: string }> = [];
      const walk = (plan: Record<string, unknown>) => {
        if (typeof plan["Relation Name"] === "string" && /Rollup(_minute|_hour|_day)?$/.test(plan["Relation Name"])) {
          scans.push({ node: String(plan["Node Type"]), cond: String(plan["Index Cond"] ?? "") });
        }
        for (const child of (plan.Plans as Array<Record<string, unknown>> | undefined) ?? []) walk(child);
      };
      walk(rows[0]["QUERY PLAN"][0].Plan as Record<string, unknown>);
      return scans;
    } finally {
      await client.query("ROLLBACK");
      client.release();
    }
  }

  it("each span of a range ending now is an index range scan bounded at both ends, for the console's and Grafana's queries", async () => {
    const server = await startTestServer({ ANALYTICS_ENABLED: "false" });
    const { pool } = server.services.db;
    const to = new Date().toISOString().slice(0, 19).replace("T", " ");
    const from = new Date(Date.now() - 30 * DAY - 17 * MINUTE).toISOString().slice(0, 19).replace("T", " ");
    for (const fn of ["analytics_traffic", "analytics_usage", "analytics_security", "analytics_security_types", "analytics_security_clients"]) {
      // Read exactly, a range with partial minutes, hours and days at both ends has five spans, all scanned. Widened
      // to whole hours, at an hour step, some spans are empty: on the tables partitioned by grain PostgreSQL sees
      // that while planning and scans nothing for them.
      for (const [args, spans] of [
        ["86400, true", [5]],
        ["3600", [1, 2, 3, 4, 5]],
      ] as const) {
        const scans = await rollupScans(pool, `SELECT count(*) FROM ${fn}('${from}'::timestamp, '${to}'::timestamp, ${args})`);
        expect(spans, `${fn}(${args}): ${scans.length} scans`).toContain(scans.length);
        for (const scan of scans) {
          expect(scan.node).toMatch(/^Index (Only )?Scan$/);
          expect(scan.cond).toMatch(/bucket >= '[^']+'::timestamp without time zone\) AND \(bucket < '[^']+'::timestamp/);
        }
      }
    }
    // A bound parameter (the console's queries) is planned with its value too.
    const { rows } = await pool.query<{ requests: string }>(`SELECT coalesce(sum(requests), 0) AS requests FROM analytics_traffic($1::timestamp, $2::timestamp)`, [from, to]);
    expect(Number(rows[0].requests)).toBe(0);
  });

  it("a Grafana panel steps by minutes for ranges under a day and by whole hours from a day on, whatever interval it asks for", async () => {
    const server = await startTestServer({ ANALYTICS_ENABLED: "false" });
    const step = async (hours: number, intervalMs: number) =>
      (await server.services.db.pool.query<{ s: number }>(`SELECT analytics_step(now()::timestamp - make_interval(hours => $1), now()::timestamp, $2) AS s`, [hours, intervalMs])).rows[0].s;
    expect(await step(1, 3_600)).toBe(60);
    expect(await step(23, 82_800)).toBe(120);
    expect(await step(24, 86_400)).toBe(3600);
    expect(await step(7 * 24, 604_800)).toBe(3600);
    expect(await step(30 * 24, 2_592_000)).toBe(3600);
    expect(await step(30 * 24, 7_200_000)).toBe(7200);
    expect(await step(400 * 24, 86_400_000)).toBe(86400);
  });
});
