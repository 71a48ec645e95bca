/**
 * Read side of the analytics tables: summaries and time series over a time range (time-range.ts), for the admin
 * console (tRPC `analytics` router), the MCP admin tools, `GET /api/analytics` (server/reporting) and the Grafana
 * Postgres dashboard (which calls the same SQL functions).
 * Every figure comes from the rollups (AnalyticsTrafficRollup, AnalyticsUsageRollup, AnalyticsSecurityTypeRollup, kept
 * by triggers as raw rows are written), never from the raw rows: a 30-day view reads at most 30 day rows and 48 hour
 * rows per key, whatever the traffic (see `rollupRows`). Latency percentiles come from histogram buckets (within one
 * bucket of the exact value).
 *
 * Client and user ids are row ids (`Client.id`, `User.id`), as every event carries them (server/events.ts); outputs
 * name a client by its public `client_id` and name, joined from `Client`.
 */
import { Prisma, type PrismaClient } from "../db/client.ts";
import { bucketSecondsFor, type TimeRange } from "./time-range.ts";

export interface AnalyticsDeps {
  prisma: PrismaClient;
}

/** Route patterns of the token endpoint (RFC 6749 §3.2): a 200 there is a token response. */
export const TOKEN_ENDPOINT_ROUTES = ["/api/oauth/token", "/oauth/token"];

// Timestamps are stored as UTC `timestamp(3)` (Prisma's convention); bounds are passed as ISO text and converted
// explicitly so no driver or session time zone can shift them.
export const utcTimestamp = (date: Date) => Prisma.sql`(${date.toISOString()}::timestamptz AT TIME ZONE 'UTC')`;

/**
 * The rollup rows of a range (SQL functions of prisma/migrations/*_analytics_scale_issue18, analytics_spans): day
 * rows for the whole days inside it, hour rows for the whole hours left, minute rows for the rest, as far as the
 * chart step `stepSeconds` allows (a 30-minute step: minute rows only). A rollup row counts when its bucket starts in
 * the range. A range shorter than a day is exact to the minute; a range of a day or more is read in whole hours,
 * widened to the hours that hold its ends (*_analytics_whole_hours_from_a_day: nothing is lost from a range ending
 * now, and the cost does not grow with the keys seen per minute), so a 30-day figure reads at most 30 day rows and
 * 48 hour rows per key; `exact` keeps any range exact to the minute. `from` and `to` are SQL timestamps
 * (`utcTimestamp`, or an open end such as `'-infinity'::timestamp`).
 */
export function rollupRows(
  fn: "analytics_traffic" | "analytics_usage" | "analytics_security" | "analytics_security_types",
  from: Prisma.Sql,
  to: Prisma.Sql,
  stepSeconds = 86400,
  exact = false,
): Prisma.Sql {
  return Prisma.sql`${Prisma.raw(fn)}(${from}, ${to}, ${Prisma.raw(String(Math.trunc(stepSeconds)))}, ${Prisma.raw(String(exact))})`;
}
const traffic = (range: TimeRange, stepSeconds?: number) =>
  rollupRows("analytics_traffic", utcTimestamp(range.from), utcTimestamp(range.to), stepSeconds);
const usage = (range: TimeRange, stepSeconds?: number) =>
  rollupRows("analytics_usage", utcTimestamp(range.from), utcTimestamp(range.to), stepSeconds);
/** Security events by type and severity only (AnalyticsSecurityTypeRollup): a fixed number of rows per bucket. */
const securityTypes = (range: TimeRange, stepSeconds?: number) =>
  rollupRows("analytics_security_types", utcTimestamp(range.from), utcTimestamp(range.to), stepSeconds);

/** Upper bounds (ms) of the latency histogram's buckets (`le1` … `le10000` of AnalyticsTrafficRollup). */
export const LATENCY_BUCKETS_MS = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];
const LE_COLUMNS = ["le1", "le2p5", "le5", "le10", "le25", "le50", "le100", "le250", "le500", "le1000", "le2500", "le5000", "le10000"];
const histogram = Prisma.raw(`ARRAY[${LE_COLUMNS.map((c) => `sum("${c}")`).join(", ")}]::bigint[]`);
/** The q-quantile of the summed histogram (Prometheus' histogram_quantile: exact to within one bucket). */
const quantile = (q: number) => Prisma.sql`analytics_latency_quantile(${Prisma.raw(String(q))}, ${histogram}, sum("requests")::bigint)`;

// Time buckets are aligned to a fixed origin, so the same instant falls in the same bucket whatever the range.
const bucketWidth = (seconds: number) => Prisma.sql`make_interval(secs => ${seconds})`;
/** The chart bucket a rollup row falls in. */
const bucketOf = (seconds: number) => Prisma.sql`date_bin(${bucketWidth(seconds)}, "bucket", TIMESTAMP '2000-01-01')`;
/** Every bucket start over the range (a `buckets` CTE body), so that empty buckets are present with zeros. */
const bucketStarts = (range: TimeRange, seconds: number) =>
  Prisma.sql`SELECT generate_series(date_bin(${bucketWidth(seconds)}, ${utcTimestamp(range.from)}, TIMESTAMP '2000-01-01'), ${utcTimestamp(range.to)}, ${bucketWidth(seconds)}) AS start`;

export interface RequestSummary {
  requests: number;
  /** 5xx answers: the server's fault, what availability counts. */
  serverErrors: number;
  /** 4xx answers (bad input, missing or refused credentials, rate limits). */
  clientErrors: number;
  /** serverErrors / requests (0 when there were none). */
  errorRate: number;
  /** 1 - errorRate. */
  availability: number;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  avgMs: number | null;
  uniqueClients: number;
  uniqueUsers: number;
}

export async function requestSummary(deps: AnalyticsDeps, range: TimeRange): Promise<RequestSummary> {
  const [row] = await deps.prisma.$queryRaw<
    Array<{
      requests: number;
      server_errors: number;
      client_errors: number;
      p50: number | null;
      p95: number | null;
      p99: number | null;
      avg: number | null;
      clients: number;
      users: number;
    }>
  >`
    WITH u AS (SELECT * FROM ${usage(range)})
    SELECT coalesce(sum("requests"), 0)::float8 AS requests,
           coalesce(sum("requests") FILTER (WHERE "statusCode" >= 500), 0)::float8 AS server_errors,
           coalesce(sum("requests") FILTER (WHERE "statusCode" >= 400 AND "statusCode" < 500), 0)::float8 AS client_errors,
           ${quantile(0.5)} AS p50,
           ${quantile(0.95)} AS p95,
           ${quantile(0.99)} AS p99,
           sum("latencySum") / nullif(sum("requests"), 0) AS avg,
           (SELECT count(*) FROM (SELECT 1 FROM u WHERE "clientId" <> '' GROUP BY "clientId" HAVING sum("requests") > 0) c)::float8 AS clients,
           (SELECT count(*) FROM (SELECT 1 FROM u WHERE "userId" <> '' GROUP BY "userId" HAVING sum("requests") > 0) p)::float8 AS users
      FROM ${traffic(range)}`;
  const errorRate = row.requests ? row.server_errors / row.requests : 0;
  return {
    requests: row.requests,
    serverErrors: row.server_errors,
    clientErrors: row.client_errors,
    errorRate,
    availability: 1 - errorRate,
    p50Ms: round(row.p50),
    p95Ms: round(row.p95),
    p99Ms: round(row.p99),
    avgMs: round(row.avg),
    uniqueClients: row.clients,
    uniqueUsers: row.users,
  };
}

export interface RequestBucket {
  start: Date;
  requests: number;
  serverErrors: number;
  clientErrors: number;
  errorRate: number;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
}

/** Requests, errors and latency percentiles per bucket; empty buckets are present with zeros. */
export async function requestTimeSeries(
  deps: AnalyticsDeps,
  range: TimeRange,
  bucketSeconds = bucketSecondsFor(range),
): Promise<RequestBucket[]> {
  const rows = await deps.prisma.$queryRaw<
    Array<{ start: Date; requests: number; server_errors: number; client_errors: number; p50: number | null; p95: number | null; p99: number | null }>
  >`
    WITH buckets AS (
      ${bucketStarts(range, bucketSeconds)}
    ), data AS (
      SELECT ${bucketOf(bucketSeconds)} AS start,
             sum("requests")::float8 AS requests,
             coalesce(sum("requests") FILTER (WHERE "statusCode" >= 500), 0)::float8 AS server_errors,
             coalesce(sum("requests") FILTER (WHERE "statusCode" >= 400 AND "statusCode" < 500), 0)::float8 AS client_errors,
             ${quantile(0.5)} AS p50,
             ${quantile(0.95)} AS p95,
             ${quantile(0.99)} AS p99
        FROM ${traffic(range, bucketSeconds)}
       GROUP BY 1
    )
    SELECT b.start AT TIME ZONE 'UTC' AS start, coalesce(d.requests, 0) AS requests,
           coalesce(d.server_errors, 0) AS server_errors, coalesce(d.client_errors, 0) AS client_errors,
           d.p50, d.p95, d.p99
      FROM buckets b LEFT JOIN data d ON d.start = b.start
     ORDER BY b.start`;
  return rows.map((r) => ({
    start: r.start,
    requests: r.requests,
    serverErrors: r.server_errors,
    clientErrors: r.client_errors,
    errorRate: r.requests ? r.server_errors / r.requests : 0,
    p50Ms: round(r.p50),
    p95Ms: round(r.p95),
    p99Ms: round(r.p99),
  }));
}

export interface CountBucket {
  start: Date;
  count: number;
}

/** Successful token responses (200 from the token endpoint) in the range, in total and per bucket. */
export async function tokensIssued(
  deps: AnalyticsDeps,
  range: TimeRange,
  bucketSeconds = bucketSecondsFor(range),
): Promise<{ total: number; series: CountBucket[] }> {
  const rows = await deps.prisma.$queryRaw<Array<{ start: Date; count: number }>>`
    WITH buckets AS (
      ${bucketStarts(range, bucketSeconds)}
    ), data AS (
      SELECT ${bucketOf(bucketSeconds)} AS start, sum("requests")::float8 AS count
        FROM ${traffic(range, bucketSeconds)}
       WHERE "endpoint" IN (${Prisma.join(TOKEN_ENDPOINT_ROUTES)}) AND "statusCode" = 200
       GROUP BY 1
    )
    SELECT b.start AT TIME ZONE 'UTC' AS start, coalesce(d.count, 0) AS count
      FROM buckets b LEFT JOIN data d ON d.start = b.start
     ORDER BY b.start`;
  return { total: rows.reduce((sum, r) => sum + r.count, 0), series: rows.map((r) => ({ start: r.start, count: r.count })) };
}

export interface ActiveClients {
  /** Distinct clients that made at least one request in the range. */
  inRange: number;
  /** Enabled clients holding a live (unexpired, unrevoked) access or refresh token now (the `oauth_active_clients` gauge). */
  live: number;
}

export async function activeClients(deps: AnalyticsDeps, range: TimeRange): Promise<ActiveClients> {
  const [[seen], live] = await Promise.all([
    deps.prisma.$queryRaw<Array<{ n: number }>>`
      SELECT count(*)::int AS n FROM (
        SELECT 1 FROM ${usage(range)} WHERE "clientId" <> '' GROUP BY "clientId" HAVING sum("requests") > 0) c`,
    liveClientCount(deps),
  ]);
  return { inRange: seen.n, live };
}

/** SQL of the live-clients count, shared with the scrape-time gauge. */
export const LIVE_CLIENTS_SQL = `
  SELECT count(*)::int AS n FROM "Client" c
   WHERE NOT c.disabled
     AND (EXISTS (SELECT 1 FROM "AccessToken" a
                   WHERE a."clientId" = c.id AND a."revokedAt" IS NULL AND a."expiresAt" > now())
          OR EXISTS (SELECT 1 FROM "RefreshToken" r
                   WHERE r."clientId" = c.id AND r."revokedAt" IS NULL AND r."rotatedAt" IS NULL AND r."expiresAt" > now()))`;

export async function liveClientCount(deps: AnalyticsDeps): Promise<number> {
  const [row] = await deps.prisma.$queryRawUnsafe<Array<{ n: number }>>(LIVE_CLIENTS_SQL);
  return row.n;
}

export interface SecuritySummary {
  total: number;
  unreviewed: number;
  byType: Array<{ type: string; count: number }>;
  bySeverity: Array<{ severity: string; count: number }>;
  series: Array<{ start: Date; low: number; medium: number; high: number; critical: number }>;
}

export async function securityEventSummary(
  deps: AnalyticsDeps,
  range: TimeRange,
  bucketSeconds = bucketSecondsFor(range),
): Promise<SecuritySummary> {
  const [byType, bySeverity, [counts], series] = await Promise.all([
    deps.prisma.$queryRaw<Array<{ type: string; count: number }>>`
      SELECT "eventType" AS type, sum("events")::float8 AS count FROM ${securityTypes(range)}
       GROUP BY 1 HAVING sum("events") > 0 ORDER BY 2 DESC, 1`,
    deps.prisma.$queryRaw<Array<{ severity: string; count: number }>>`
      SELECT severity, sum("events")::float8 AS count FROM ${securityTypes(range)}
       GROUP BY 1 HAVING sum("events") > 0
       ORDER BY array_position(ARRAY['critical','high','medium','low'], severity), 1`,
    deps.prisma.$queryRaw<Array<{ total: number; unreviewed: number }>>`
      SELECT coalesce(sum("events"), 0)::float8 AS total, coalesce(sum("events" - "reviewed"), 0)::float8 AS unreviewed
        FROM ${securityTypes(range)}`,
    deps.prisma.$queryRaw<Array<{ start: Date; low: number; medium: number; high: number; critical: number }>>`
      WITH buckets AS (
        ${bucketStarts(range, bucketSeconds)}
      ), data AS (
        SELECT ${bucketOf(bucketSeconds)} AS start,
               coalesce(sum("events") FILTER (WHERE severity = 'low'), 0)::float8 AS low,
               coalesce(sum("events") FILTER (WHERE severity = 'medium'), 0)::float8 AS medium,
               coalesce(sum("events") FILTER (WHERE severity = 'high'), 0)::float8 AS high,
               coalesce(sum("events") FILTER (WHERE severity = 'critical'), 0)::float8 AS critical
          FROM ${securityTypes(range, bucketSeconds)} GROUP BY 1
      )
      SELECT b.start AT TIME ZONE 'UTC' AS start, coalesce(d.low, 0) AS low, coalesce(d.medium, 0) AS medium,
             coalesce(d.high, 0) AS high, coalesce(d.critical, 0) AS critical
        FROM buckets b LEFT JOIN data d ON d.start = b.start ORDER BY b.start`,
  ]);
  return { total: counts.total, unreviewed: counts.unreviewed, byType, bySeverity, series };
}

/**
 * The Client row id a filter value names: rows carry row ids, people know the public `client_id`. A value that is
 * no client's `client_id` is taken as a row id (a deleted client's rows stay until retention).
 */
export async function clientRowIdOf(deps: AnalyticsDeps, value: string): Promise<string> {
  const client = await deps.prisma.client.findUnique({ where: { clientId: value }, select: { id: true } });
  return client?.id ?? value;
}

export interface ClientUsage {
  /** The Client row id (`Client.id`), as the analytics rows carry it. */
  clientDbId: string;
  /** The public `client_id`; the row id when the client no longer exists (its rows stay until retention). */
  clientId: string;
  /** The client's name; null when it no longer exists. */
  name: string | null;
  requests: number;
  errors: number;
  lastSeen: Date;
}

/** The clients that made the most requests in the range, named through `Client`. */
export async function topClients(deps: AnalyticsDeps, range: TimeRange, limit = 10): Promise<ClientUsage[]> {
  const rows = await deps.prisma.$queryRaw<
    Array<{ id: string; client_id: string | null; name: string | null; requests: number; errors: number; last_seen: Date }>
  >`
    WITH usage AS (
      SELECT "clientId" AS id, sum("requests")::float8 AS requests,
             sum("clientErrors" + "serverErrors")::float8 AS errors, max("lastSeen") AS last_seen
        FROM ${usage(range)}
       WHERE "clientId" <> ''
       GROUP BY 1 HAVING sum("requests") > 0 ORDER BY 2 DESC, 1 LIMIT ${clampLimit(limit)}
    )
    SELECT u.id, c."clientId" AS client_id, c.name, u.requests, u.errors, u.last_seen AT TIME ZONE 'UTC' AS last_seen
      FROM usage u LEFT JOIN "Client" c ON c.id = u.id
     ORDER BY u.requests DESC, u.id`;
  return rows.map((r) => ({
    clientDbId: r.id,
    clientId: r.client_id ?? r.id,
    name: r.name,
    requests: r.requests,
    errors: r.errors,
    lastSeen: r.last_seen,
  }));
}

export interface UserUsage {
  userId: string;
  email: string | null;
  requests: number;
  lastSeen: Date;
}

/** The users on whose behalf the most requests were made in the range. */
export async function busiestUsers(deps: AnalyticsDeps, range: TimeRange, limit = 10): Promise<UserUsage[]> {
  const rows = await deps.prisma.$queryRaw<Array<{ user_id: string; email: string | null; requests: number; last_seen: Date }>>`
    WITH usage AS (
      SELECT "userId" AS user_id, sum("requests")::float8 AS requests, max("lastSeen") AS last_seen
        FROM ${usage(range)}
       WHERE "userId" <> ''
       GROUP BY 1 HAVING sum("requests") > 0 ORDER BY 2 DESC, 1 LIMIT ${clampLimit(limit)}
    )
    SELECT u.user_id, (SELECT p.email FROM "User" p WHERE p.id = u.user_id) AS email, u.requests,
           u.last_seen AT TIME ZONE 'UTC' AS last_seen
      FROM usage u ORDER BY u.requests DESC, u.user_id`;
  return rows.map((r) => ({ userId: r.user_id, email: r.email, requests: r.requests, lastSeen: r.last_seen }));
}

export interface EndpointUsage {
  endpoint: string;
  requests: number;
  serverErrors: number;
  clientErrors: number;
  p95Ms: number | null;
}

/**
 * Route names of static files (server/http/app.ts): fingerprinted build assets and the rest of public/. Requests
 * for them count in the totals, but they are not endpoints anyone asks "which is busiest" about.
 */
export const STATIC_ASSET_ROUTES = ["/build/*", "static"];

/** The busiest route patterns in the range, static files left out. */
export async function topEndpoints(deps: AnalyticsDeps, range: TimeRange, limit = 10): Promise<EndpointUsage[]> {
  const rows = await deps.prisma.$queryRaw<
    Array<{ endpoint: string; requests: number; server_errors: number; client_errors: number; p95: number | null }>
  >`
    SELECT "endpoint", sum("requests")::float8 AS requests,
           coalesce(sum("requests") FILTER (WHERE "statusCode" >= 500), 0)::float8 AS server_errors,
           coalesce(sum("requests") FILTER (WHERE "statusCode" >= 400 AND "statusCode" < 500), 0)::float8 AS client_errors,
           ${quantile(0.95)} AS p95
      FROM ${traffic(range)}
     WHERE "endpoint" NOT IN (${Prisma.join(STATIC_ASSET_ROUTES)})
     GROUP BY 1 HAVING sum("requests") > 0 ORDER BY 2 DESC, 1 LIMIT ${clampLimit(limit)}`;
  return rows.map((r) => ({
    endpoint: r.endpoint,
    requests: r.requests,
    serverErrors: r.server_errors,
    clientErrors: r.client_errors,
    p95Ms: round(r.p95),
  }));
}

export interface AnalyticsOverview {
  range: TimeRange;
  bucketSeconds: number;
  requests: RequestSummary;
  series: RequestBucket[];
  tokens: { total: number; series: CountBucket[] };
  clients: ActiveClients;
  security: SecuritySummary;
  topClients: ClientUsage[];
  busiestUsers: UserUsage[];
  topEndpoints: EndpointUsage[];
}

/** Everything the admin console's analytics page shows, in one call. */
export async function analyticsOverview(deps: AnalyticsDeps, range: TimeRange, bucketSeconds = bucketSecondsFor(range)): Promise<AnalyticsOverview> {
  const [requests, series, tokens, clients, security, clientsTop, users, endpoints] = await Promise.all([
    requestSummary(deps, range),
    requestTimeSeries(deps, range, bucketSeconds),
    tokensIssued(deps, range, bucketSeconds),
    activeClients(deps, range),
    securityEventSummary(deps, range, bucketSeconds),
    topClients(deps, range),
    busiestUsers(deps, range),
    topEndpoints(deps, range),
  ]);
  return { range, bucketSeconds, requests, series, tokens, clients, security, topClients: clientsTop, busiestUsers: users, topEndpoints: endpoints };
}

function clampLimit(limit: number): number {
  return Math.min(100, Math.max(1, Math.trunc(limit) || 10));
}

function round(value: number | null | undefined): number | null {
  return value === null || value === undefined ? null : Math.round(Number(value) * 100) / 100;
}
