-- Issue 18: analytics at scale (docs/decisions/0015-analytics-at-scale.md).
--
-- 1. AnalyticsRequest and AnalyticsSecurity become tables partitioned by day on "timestamp" (PostgreSQL declarative
--    partitioning), each with a DEFAULT partition as a safety net; existing rows are copied over. The primary key
--    becomes ("id", "timestamp"): a partitioned table's unique keys must contain the partition key.
-- 2. Rollup tables (minute, hour and day rows) kept by statement-level triggers over transition tables, so every INSERT
--    of raw rows, from the batched writer, Prisma or COPY, updates them in the same statement and transaction, and
--    an insert that skips a row already stored (ON CONFLICT DO NOTHING: a retried batch) does not count it again.
-- 3. SQL functions the server, the jobs runner and the Grafana dashboards share: partitions ahead, partition drops,
--    the rollup rows of a range, and quantiles from the latency histogram.

-- ---------------------------------------------------------------------------------------------------------------
-- Partition maintenance

-- Creates the daily partitions of `parent` for [p_from, p_to), moving any rows the DEFAULT partition holds for a
-- day into its new partition first (ATTACH would refuse otherwise). Returns how many partitions it created.
CREATE FUNCTION analytics_ensure_partitions(parent text, p_from date, p_to date) RETURNS integer
LANGUAGE plpgsql AS $fn$
DECLARE
  day date;
  part text;
  created integer := 0;
BEGIN
  day := p_from;
  WHILE day < p_to LOOP
    part := parent || '_p' || to_char(day, 'YYYYMMDD');
    IF to_regclass(format('%I', part)) IS NULL THEN
      EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS)', part, parent);
      EXECUTE format(
        'WITH moved AS (DELETE FROM %I WHERE "timestamp" >= %L AND "timestamp" < %L RETURNING *) INSERT INTO %I SELECT * FROM moved',
        parent || '_default', day::timestamp, (day + 1)::timestamp, part);
      EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', parent, part, day::timestamp, (day + 1)::timestamp);
      created := created + 1;
    END IF;
    day := day + 1;
  END LOOP;
  RETURN created;
END
$fn$;

-- Drops the daily partitions of `parent` that end on or before `cutoff` (whole days older than the retention),
-- returning each dropped partition's name and row count. Dropping fires no trigger: the rollups stay.
CREATE FUNCTION analytics_drop_partitions(parent text, cutoff timestamp) RETURNS TABLE (partition_name text, row_count bigint)
LANGUAGE plpgsql AS $fn$
DECLARE
  part record;
  n bigint;
BEGIN
  FOR part IN
    SELECT c.relname::text AS name, to_date(substring(c.relname::text FROM '_p([0-9]{8})$'), 'YYYYMMDD') AS day
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = format('%I', parent)::regclass AND c.relname::text ~ '_p[0-9]{8}$'
     ORDER BY 2
  LOOP
    EXIT WHEN (part.day + 1)::timestamp > cutoff;
    EXECUTE format('SELECT count(*) FROM %I', part.name) INTO n;
    EXECUTE format('DROP TABLE %I', part.name);
    partition_name := part.name;
    row_count := n;
    RETURN NEXT;
  END LOOP;
END
$fn$;

-- ---------------------------------------------------------------------------------------------------------------
-- Rollup tables

CREATE TABLE "AnalyticsTrafficRollup" (
    "grain" INTEGER NOT NULL,
    "bucket" TIMESTAMP(3) NOT NULL,
    "endpoint" TEXT NOT NULL,
    "method" TEXT NOT NULL,
    "statusCode" INTEGER NOT NULL,
    "oauthError" TEXT NOT NULL,
    "requests" INTEGER NOT NULL,
    "latencySum" DOUBLE PRECISION NOT NULL,
    "le1" INTEGER NOT NULL,
    "le2p5" INTEGER NOT NULL,
    "le5" INTEGER NOT NULL,
    "le10" INTEGER NOT NULL,
    "le25" INTEGER NOT NULL,
    "le50" INTEGER NOT NULL,
    "le100" INTEGER NOT NULL,
    "le250" INTEGER NOT NULL,
    "le500" INTEGER NOT NULL,
    "le1000" INTEGER NOT NULL,
    "le2500" INTEGER NOT NULL,
    "le5000" INTEGER NOT NULL,
    "le10000" INTEGER NOT NULL,
    "lastSeen" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "AnalyticsTrafficRollup_pkey" PRIMARY KEY ("grain","bucket","endpoint","method","statusCode","oauthError")
);

CREATE TABLE "AnalyticsUsageRollup" (
    "grain" INTEGER NOT NULL,
    "bucket" TIMESTAMP(3) NOT NULL,
    "clientId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "requests" INTEGER NOT NULL,
    "clientErrors" INTEGER NOT NULL,
    "serverErrors" INTEGER NOT NULL,
    "lastSeen" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "AnalyticsUsageRollup_pkey" PRIMARY KEY ("grain","bucket","clientId","userId")
);

CREATE INDEX "AnalyticsUsageRollup_grain_clientId_bucket_idx" ON "AnalyticsUsageRollup"("grain", "clientId", "bucket");

CREATE TABLE "AnalyticsSecurityRollup" (
    "grain" INTEGER NOT NULL,
    "bucket" TIMESTAMP(3) NOT NULL,
    "eventType" TEXT NOT NULL,
    "severity" TEXT NOT NULL,
    "clientId" TEXT NOT NULL,
    "ipAddress" TEXT NOT NULL,
    "events" INTEGER NOT NULL,
    "reviewed" INTEGER NOT NULL,
    "lastSeen" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "AnalyticsSecurityRollup_pkey" PRIMARY KEY ("grain","bucket","eventType","severity","clientId","ipAddress")
);

-- ---------------------------------------------------------------------------------------------------------------
-- Triggers keeping the rollups. Statement-level with transition tables: one aggregate per statement, not per row.
-- Rows are upserted in key order, so concurrent writers (several nodes) take row locks in the same order.

CREATE FUNCTION analytics_request_rollup_insert() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  INSERT INTO "AnalyticsTrafficRollup" AS r
    ("grain", "bucket", "endpoint", "method", "statusCode", "oauthError", "requests", "latencySum", "le1", "le2p5", "le5", "le10", "le25", "le50", "le100", "le250", "le500", "le1000", "le2500", "le5000", "le10000", "lastSeen")
  SELECT g.grain, date_bin(make_interval(secs => g.grain), n."timestamp", TIMESTAMP '2000-01-01'),
         n."endpoint", n."method", n."statusCode", coalesce(n."oauthError", ''),
         count(*), sum(n."responseTime"),
           count(*) FILTER (WHERE n."responseTime" <= 1),
           count(*) FILTER (WHERE n."responseTime" <= 2.5),
           count(*) FILTER (WHERE n."responseTime" <= 5),
           count(*) FILTER (WHERE n."responseTime" <= 10),
           count(*) FILTER (WHERE n."responseTime" <= 25),
           count(*) FILTER (WHERE n."responseTime" <= 50),
           count(*) FILTER (WHERE n."responseTime" <= 100),
           count(*) FILTER (WHERE n."responseTime" <= 250),
           count(*) FILTER (WHERE n."responseTime" <= 500),
           count(*) FILTER (WHERE n."responseTime" <= 1000),
           count(*) FILTER (WHERE n."responseTime" <= 2500),
           count(*) FILTER (WHERE n."responseTime" <= 5000),
           count(*) FILTER (WHERE n."responseTime" <= 10000),
         max(n."timestamp")
    FROM new_rows n CROSS JOIN (VALUES (60), (3600), (86400)) AS g(grain)
   GROUP BY 1, 2, 3, 4, 5, 6
   ORDER BY 1, 2, 3, 4, 5, 6
  ON CONFLICT ("grain", "bucket", "endpoint", "method", "statusCode", "oauthError") DO UPDATE SET
    "requests" = r."requests" + excluded."requests",
    "latencySum" = r."latencySum" + excluded."latencySum",
    "le1" = r."le1" + excluded."le1",
    "le2p5" = r."le2p5" + excluded."le2p5",
    "le5" = r."le5" + excluded."le5",
    "le10" = r."le10" + excluded."le10",
    "le25" = r."le25" + excluded."le25",
    "le50" = r."le50" + excluded."le50",
    "le100" = r."le100" + excluded."le100",
    "le250" = r."le250" + excluded."le250",
    "le500" = r."le500" + excluded."le500",
    "le1000" = r."le1000" + excluded."le1000",
    "le2500" = r."le2500" + excluded."le2500",
    "le5000" = r."le5000" + excluded."le5000",
    "le10000" = r."le10000" + excluded."le10000",
    "lastSeen" = greatest(r."lastSeen", excluded."lastSeen");

  INSERT INTO "AnalyticsUsageRollup" AS r
    ("grain", "bucket", "clientId", "userId", "requests", "clientErrors", "serverErrors", "lastSeen")
  SELECT g.grain, date_bin(make_interval(secs => g.grain), n."timestamp", TIMESTAMP '2000-01-01'),
         coalesce(n."clientId", ''), coalesce(n."userId", ''),
         count(*), count(*) FILTER (WHERE n."statusCode" BETWEEN 400 AND 499),
         count(*) FILTER (WHERE n."statusCode" >= 500), max(n."timestamp")
    FROM new_rows n CROSS JOIN (VALUES (60), (3600), (86400)) AS g(grain)
   WHERE n."clientId" IS NOT NULL OR n."userId" IS NOT NULL
   GROUP BY 1, 2, 3, 4
   ORDER BY 1, 2, 3, 4
  ON CONFLICT ("grain", "bucket", "clientId", "userId") DO UPDATE SET
    "requests" = r."requests" + excluded."requests",
    "clientErrors" = r."clientErrors" + excluded."clientErrors",
    "serverErrors" = r."serverErrors" + excluded."serverErrors",
    "lastSeen" = greatest(r."lastSeen", excluded."lastSeen");
  RETURN NULL;
END
$fn$;

-- A DELETE of raw rows (an operator's cleanup, a test) takes them out of the rollups, but not out of `lastSeen`.
-- Retention does not delete rows: it drops partitions (or sets analytics.keep_rollups for the DEFAULT partition).
CREATE FUNCTION analytics_request_rollup_delete() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  IF current_setting('analytics.keep_rollups', true) = 'on' THEN
    RETURN NULL;
  END IF;
  INSERT INTO "AnalyticsTrafficRollup" AS r
    ("grain", "bucket", "endpoint", "method", "statusCode", "oauthError", "requests", "latencySum", "le1", "le2p5", "le5", "le10", "le25", "le50", "le100", "le250", "le500", "le1000", "le2500", "le5000", "le10000", "lastSeen")
  SELECT g.grain, date_bin(make_interval(secs => g.grain), n."timestamp", TIMESTAMP '2000-01-01'),
         n."endpoint", n."method", n."statusCode", coalesce(n."oauthError", ''),
         -count(*), -sum(n."responseTime"),
           -count(*) FILTER (WHERE n."responseTime" <= 1),
           -count(*) FILTER (WHERE n."responseTime" <= 2.5),
           -count(*) FILTER (WHERE n."responseTime" <= 5),
           -count(*) FILTER (WHERE n."responseTime" <= 10),
           -count(*) FILTER (WHERE n."responseTime" <= 25),
           -count(*) FILTER (WHERE n."responseTime" <= 50),
           -count(*) FILTER (WHERE n."responseTime" <= 100),
           -count(*) FILTER (WHERE n."responseTime" <= 250),
           -count(*) FILTER (WHERE n."responseTime" <= 500),
           -count(*) FILTER (WHERE n."responseTime" <= 1000),
           -count(*) FILTER (WHERE n."responseTime" <= 2500),
           -count(*) FILTER (WHERE n."responseTime" <= 5000),
           -count(*) FILTER (WHERE n."responseTime" <= 10000),
         TIMESTAMP '2000-01-01'
    FROM old_rows n CROSS JOIN (VALUES (60), (3600), (86400)) AS g(grain)
   GROUP BY 1, 2, 3, 4, 5, 6
   ORDER BY 1, 2, 3, 4, 5, 6
  ON CONFLICT ("grain", "bucket", "endpoint", "method", "statusCode", "oauthError") DO UPDATE SET
    "requests" = r."requests" + excluded."requests",
    "latencySum" = r."latencySum" + excluded."latencySum",
    "le1" = r."le1" + excluded."le1",
    "le2p5" = r."le2p5" + excluded."le2p5",
    "le5" = r."le5" + excluded."le5",
    "le10" = r."le10" + excluded."le10",
    "le25" = r."le25" + excluded."le25",
    "le50" = r."le50" + excluded."le50",
    "le100" = r."le100" + excluded."le100",
    "le250" = r."le250" + excluded."le250",
    "le500" = r."le500" + excluded."le500",
    "le1000" = r."le1000" + excluded."le1000",
    "le2500" = r."le2500" + excluded."le2500",
    "le5000" = r."le5000" + excluded."le5000",
    "le10000" = r."le10000" + excluded."le10000",
    "lastSeen" = greatest(r."lastSeen", excluded."lastSeen");

  INSERT INTO "AnalyticsUsageRollup" AS r
    ("grain", "bucket", "clientId", "userId", "requests", "clientErrors", "serverErrors", "lastSeen")
  SELECT g.grain, date_bin(make_interval(secs => g.grain), n."timestamp", TIMESTAMP '2000-01-01'),
         coalesce(n."clientId", ''), coalesce(n."userId", ''),
         -count(*), -count(*) FILTER (WHERE n."statusCode" BETWEEN 400 AND 499),
         -count(*) FILTER (WHERE n."statusCode" >= 500), TIMESTAMP '2000-01-01'
    FROM old_rows n CROSS JOIN (VALUES (60), (3600), (86400)) AS g(grain)
   WHERE n."clientId" IS NOT NULL OR n."userId" IS NOT NULL
   GROUP BY 1, 2, 3, 4
   ORDER BY 1, 2, 3, 4
  ON CONFLICT ("grain", "bucket", "clientId", "userId") DO UPDATE SET
    "requests" = r."requests" + excluded."requests",
    "clientErrors" = r."clientErrors" + excluded."clientErrors",
    "serverErrors" = r."serverErrors" + excluded."serverErrors",
    "lastSeen" = greatest(r."lastSeen", excluded."lastSeen");
  RETURN NULL;
END
$fn$;

CREATE FUNCTION analytics_security_rollup_insert() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  INSERT INTO "AnalyticsSecurityRollup" AS r
    ("grain", "bucket", "eventType", "severity", "clientId", "ipAddress", "events", "reviewed", "lastSeen")
  SELECT g.grain, date_bin(make_interval(secs => g.grain), n."timestamp", TIMESTAMP '2000-01-01'),
         n."eventType", n."severity", coalesce(n."clientId", ''), coalesce(n."ipAddress", ''),
         count(*), count(*) FILTER (WHERE n."reviewedAt" IS NOT NULL), max(n."timestamp")
    FROM new_rows n CROSS JOIN (VALUES (60), (3600), (86400)) AS g(grain)
   GROUP BY 1, 2, 3, 4, 5, 6
   ORDER BY 1, 2, 3, 4, 5, 6
  ON CONFLICT ("grain", "bucket", "eventType", "severity", "clientId", "ipAddress") DO UPDATE SET
    "events" = r."events" + excluded."events",
    "reviewed" = r."reviewed" + excluded."reviewed",
    "lastSeen" = greatest(r."lastSeen", excluded."lastSeen");
  RETURN NULL;
END
$fn$;

CREATE FUNCTION analytics_security_rollup_delete() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  IF current_setting('analytics.keep_rollups', true) = 'on' THEN
    RETURN NULL;
  END IF;
  INSERT INTO "AnalyticsSecurityRollup" AS r
    ("grain", "bucket", "eventType", "severity", "clientId", "ipAddress", "events", "reviewed", "lastSeen")
  SELECT g.grain, date_bin(make_interval(secs => g.grain), n."timestamp", TIMESTAMP '2000-01-01'),
         n."eventType", n."severity", coalesce(n."clientId", ''), coalesce(n."ipAddress", ''),
         -count(*), -count(*) FILTER (WHERE n."reviewedAt" IS NOT NULL), TIMESTAMP '2000-01-01'
    FROM old_rows n CROSS JOIN (VALUES (60), (3600), (86400)) AS g(grain)
   GROUP BY 1, 2, 3, 4, 5, 6
   ORDER BY 1, 2, 3, 4, 5, 6
  ON CONFLICT ("grain", "bucket", "eventType", "severity", "clientId", "ipAddress") DO UPDATE SET
    "events" = r."events" + excluded."events",
    "reviewed" = r."reviewed" + excluded."reviewed",
    "lastSeen" = greatest(r."lastSeen", excluded."lastSeen");
  RETURN NULL;
END
$fn$;

-- Marking events reviewed (or not) moves them in or out of `reviewed`; nothing else of a row is expected to change.
CREATE FUNCTION analytics_security_rollup_update() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  INSERT INTO "AnalyticsSecurityRollup" AS r
    ("grain", "bucket", "eventType", "severity", "clientId", "ipAddress", "events", "reviewed", "lastSeen")
  SELECT g.grain, date_bin(make_interval(secs => g.grain), n."timestamp", TIMESTAMP '2000-01-01'),
         n."eventType", n."severity", coalesce(n."clientId", ''), coalesce(n."ipAddress", ''),
         0, sum(n.delta), TIMESTAMP '2000-01-01'
    FROM (SELECT o.*, (CASE WHEN nw."reviewedAt" IS NOT NULL THEN 1 ELSE 0 END) - (CASE WHEN o."reviewedAt" IS NOT NULL THEN 1 ELSE 0 END) AS delta
            FROM old_rows o JOIN new_rows nw ON nw."id" = o."id" AND nw."timestamp" = o."timestamp") n CROSS JOIN (VALUES (60), (3600), (86400)) AS g(grain)
   WHERE n.delta <> 0
   GROUP BY 1, 2, 3, 4, 5, 6
   ORDER BY 1, 2, 3, 4, 5, 6
  ON CONFLICT ("grain", "bucket", "eventType", "severity", "clientId", "ipAddress") DO UPDATE SET
    "events" = r."events" + excluded."events",
    "reviewed" = r."reviewed" + excluded."reviewed",
    "lastSeen" = greatest(r."lastSeen", excluded."lastSeen");
  RETURN NULL;
END
$fn$;

-- ---------------------------------------------------------------------------------------------------------------
-- AnalyticsRequest: a partitioned table, the existing rows moved over (through the trigger, which builds their
-- rollups), the old table dropped

ALTER TABLE "AnalyticsRequest" RENAME TO "AnalyticsRequest_unpartitioned";
ALTER TABLE "AnalyticsRequest_unpartitioned" RENAME CONSTRAINT "AnalyticsRequest_pkey" TO "AnalyticsRequest_unpartitioned_pkey";
DROP INDEX "AnalyticsRequest_timestamp_idx";
DROP INDEX "AnalyticsRequest_clientId_timestamp_idx";
DROP INDEX "AnalyticsRequest_userId_timestamp_idx";
DROP INDEX "AnalyticsRequest_endpoint_timestamp_idx";

CREATE TABLE "AnalyticsRequest" (
    "id" TEXT NOT NULL,
    "timestamp" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "method" TEXT NOT NULL,
    "endpoint" TEXT NOT NULL,
    "statusCode" INTEGER NOT NULL,
    "responseTime" DOUBLE PRECISION NOT NULL,
    "clientId" TEXT,
    "userId" TEXT,
    "ipAddress" TEXT,
    "userAgent" TEXT,
    "oauthError" TEXT,

    CONSTRAINT "AnalyticsRequest_pkey" PRIMARY KEY ("id","timestamp")
) PARTITION BY RANGE ("timestamp");

CREATE INDEX "AnalyticsRequest_timestamp_idx" ON "AnalyticsRequest"("timestamp");
CREATE INDEX "AnalyticsRequest_clientId_timestamp_idx" ON "AnalyticsRequest"("clientId", "timestamp");
CREATE INDEX "AnalyticsRequest_userId_timestamp_idx" ON "AnalyticsRequest"("userId", "timestamp");
CREATE INDEX "AnalyticsRequest_endpoint_timestamp_idx" ON "AnalyticsRequest"("endpoint", "timestamp");
CREATE INDEX "AnalyticsRequest_ipAddress_timestamp_idx" ON "AnalyticsRequest"("ipAddress", "timestamp");

CREATE TABLE "AnalyticsRequest_default" PARTITION OF "AnalyticsRequest" DEFAULT;

CREATE TRIGGER "AnalyticsRequest_rollup_insert" AFTER INSERT ON "AnalyticsRequest"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_request_rollup_insert();
CREATE TRIGGER "AnalyticsRequest_rollup_delete" AFTER DELETE ON "AnalyticsRequest"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_request_rollup_delete();

-- The days the existing rows cover (at most the last 400; at least yesterday), and the next week.
SELECT analytics_ensure_partitions('AnalyticsRequest',
  greatest(least(coalesce((SELECT min("timestamp")::date FROM "AnalyticsRequest_unpartitioned"), current_date), current_date - 1), current_date - 400),
  current_date + 8);
INSERT INTO "AnalyticsRequest" SELECT * FROM "AnalyticsRequest_unpartitioned";
DROP TABLE "AnalyticsRequest_unpartitioned";

-- ---------------------------------------------------------------------------------------------------------------
-- AnalyticsSecurity: likewise

ALTER TABLE "AnalyticsSecurity" RENAME TO "AnalyticsSecurity_unpartitioned";
ALTER TABLE "AnalyticsSecurity_unpartitioned" RENAME CONSTRAINT "AnalyticsSecurity_pkey" TO "AnalyticsSecurity_unpartitioned_pkey";
DROP INDEX "AnalyticsSecurity_timestamp_idx";
DROP INDEX "AnalyticsSecurity_eventType_timestamp_idx";
DROP INDEX "AnalyticsSecurity_severity_timestamp_idx";
DROP INDEX "AnalyticsSecurity_clientId_timestamp_idx";
DROP INDEX "AnalyticsSecurity_reviewedAt_idx";

CREATE TABLE "AnalyticsSecurity" (
    "id" TEXT NOT NULL,
    "timestamp" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "eventType" TEXT NOT NULL,
    "severity" TEXT NOT NULL,
    "clientId" TEXT,
    "userId" TEXT,
    "ipAddress" TEXT,
    "userAgent" TEXT,
    "details" JSONB,
    "reviewedAt" TIMESTAMP(3),
    "reviewedById" TEXT,

    CONSTRAINT "AnalyticsSecurity_pkey" PRIMARY KEY ("id","timestamp")
) PARTITION BY RANGE ("timestamp");

CREATE INDEX "AnalyticsSecurity_timestamp_idx" ON "AnalyticsSecurity"("timestamp");
CREATE INDEX "AnalyticsSecurity_eventType_timestamp_idx" ON "AnalyticsSecurity"("eventType", "timestamp");
CREATE INDEX "AnalyticsSecurity_severity_timestamp_idx" ON "AnalyticsSecurity"("severity", "timestamp");
CREATE INDEX "AnalyticsSecurity_clientId_timestamp_idx" ON "AnalyticsSecurity"("clientId", "timestamp");
CREATE INDEX "AnalyticsSecurity_ipAddress_timestamp_idx" ON "AnalyticsSecurity"("ipAddress", "timestamp");
CREATE INDEX "AnalyticsSecurity_reviewedAt_idx" ON "AnalyticsSecurity"("reviewedAt");

CREATE TABLE "AnalyticsSecurity_default" PARTITION OF "AnalyticsSecurity" DEFAULT;

CREATE TRIGGER "AnalyticsSecurity_rollup_insert" AFTER INSERT ON "AnalyticsSecurity"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_security_rollup_insert();
CREATE TRIGGER "AnalyticsSecurity_rollup_delete" AFTER DELETE ON "AnalyticsSecurity"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_security_rollup_delete();
CREATE TRIGGER "AnalyticsSecurity_rollup_update" AFTER UPDATE ON "AnalyticsSecurity"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_security_rollup_update();

SELECT analytics_ensure_partitions('AnalyticsSecurity',
  greatest(least(coalesce((SELECT min("timestamp")::date FROM "AnalyticsSecurity_unpartitioned"), current_date), current_date - 1), current_date - 400),
  current_date + 8);
INSERT INTO "AnalyticsSecurity" SELECT * FROM "AnalyticsSecurity_unpartitioned";
DROP TABLE "AnalyticsSecurity_unpartitioned";

-- ---------------------------------------------------------------------------------------------------------------
-- Reading the rollups (server/analytics/queries.ts and grafana/dashboards/*.json)

-- Which rollup rows serve a range [p_from, p_to) charted in steps of p_step_seconds: day rows for the whole days
-- inside it (when the step is a whole number of days), hour rows for the whole hours left (when the step is a whole
-- number of hours), minute rows for the rest. Returned as [d1, d2) for days, [h1, d1) and [d2, h2) for hours,
-- [p_from, h1) and [h2, p_to) for minutes, any of which may be empty. A rollup row counts when its bucket STARTS in
-- [p_from, p_to): ranges are exact to the minute, and a 30-day range reads about 30 day rows, 48 hour rows and 120
-- minute rows per key, however much traffic they summarise.
CREATE FUNCTION analytics_spans(p_from timestamp, p_to timestamp, p_step_seconds integer)
RETURNS TABLE (d1 timestamp, d2 timestamp, h1 timestamp, h2 timestamp) LANGUAGE sql IMMUTABLE AS $fn$
  WITH h AS (
    SELECT CASE WHEN hourly THEN hc ELSE p_to END AS h1, CASE WHEN hourly THEN hf ELSE p_to END AS h2
      FROM (SELECT hc, hf, p_step_seconds % 3600 = 0 AND hc < hf AS hourly
              FROM (SELECT date_trunc('hour', p_from + interval '1 hour' - interval '1 microsecond') AS hc,
                           date_trunc('hour', p_to) AS hf) x) y
  ), d AS (
    SELECT dc, df, p_step_seconds % 86400 = 0 AND dc < df AND h.h1 < h.h2 AS daily, h.h1, h.h2
      FROM h, LATERAL (SELECT date_trunc('day', p_from + interval '1 day' - interval '1 microsecond') AS dc,
                              date_trunc('day', p_to) AS df) x
  )
  SELECT CASE WHEN daily THEN dc ELSE h2 END, CASE WHEN daily THEN df ELSE h2 END, h1, h2 FROM d
$fn$;

CREATE FUNCTION analytics_traffic(p_from timestamp, p_to timestamp, p_step_seconds integer DEFAULT 86400)
RETURNS SETOF "AnalyticsTrafficRollup" LANGUAGE sql STABLE AS $fn$
  WITH s AS (SELECT * FROM analytics_spans(p_from, p_to, p_step_seconds))
  SELECT r.* FROM s, "AnalyticsTrafficRollup" r WHERE r."grain" = 86400 AND r."bucket" >= s.d1 AND r."bucket" < s.d2
  UNION ALL
  SELECT r.* FROM s, "AnalyticsTrafficRollup" r WHERE r."grain" = 3600 AND r."bucket" >= s.h1 AND r."bucket" < s.d1
  UNION ALL
  SELECT r.* FROM s, "AnalyticsTrafficRollup" r WHERE r."grain" = 3600 AND r."bucket" >= s.d2 AND r."bucket" < s.h2
  UNION ALL
  SELECT r.* FROM s, "AnalyticsTrafficRollup" r WHERE r."grain" = 60 AND r."bucket" >= p_from AND r."bucket" < s.h1
  UNION ALL
  SELECT r.* FROM s, "AnalyticsTrafficRollup" r WHERE r."grain" = 60 AND r."bucket" >= s.h2 AND r."bucket" < p_to
$fn$;

CREATE FUNCTION analytics_usage(p_from timestamp, p_to timestamp, p_step_seconds integer DEFAULT 86400)
RETURNS SETOF "AnalyticsUsageRollup" LANGUAGE sql STABLE AS $fn$
  WITH s AS (SELECT * FROM analytics_spans(p_from, p_to, p_step_seconds))
  SELECT r.* FROM s, "AnalyticsUsageRollup" r WHERE r."grain" = 86400 AND r."bucket" >= s.d1 AND r."bucket" < s.d2
  UNION ALL
  SELECT r.* FROM s, "AnalyticsUsageRollup" r WHERE r."grain" = 3600 AND r."bucket" >= s.h1 AND r."bucket" < s.d1
  UNION ALL
  SELECT r.* FROM s, "AnalyticsUsageRollup" r WHERE r."grain" = 3600 AND r."bucket" >= s.d2 AND r."bucket" < s.h2
  UNION ALL
  SELECT r.* FROM s, "AnalyticsUsageRollup" r WHERE r."grain" = 60 AND r."bucket" >= p_from AND r."bucket" < s.h1
  UNION ALL
  SELECT r.* FROM s, "AnalyticsUsageRollup" r WHERE r."grain" = 60 AND r."bucket" >= s.h2 AND r."bucket" < p_to
$fn$;

CREATE FUNCTION analytics_security(p_from timestamp, p_to timestamp, p_step_seconds integer DEFAULT 86400)
RETURNS SETOF "AnalyticsSecurityRollup" LANGUAGE sql STABLE AS $fn$
  WITH s AS (SELECT * FROM analytics_spans(p_from, p_to, p_step_seconds))
  SELECT r.* FROM s, "AnalyticsSecurityRollup" r WHERE r."grain" = 86400 AND r."bucket" >= s.d1 AND r."bucket" < s.d2
  UNION ALL
  SELECT r.* FROM s, "AnalyticsSecurityRollup" r WHERE r."grain" = 3600 AND r."bucket" >= s.h1 AND r."bucket" < s.d1
  UNION ALL
  SELECT r.* FROM s, "AnalyticsSecurityRollup" r WHERE r."grain" = 3600 AND r."bucket" >= s.d2 AND r."bucket" < s.h2
  UNION ALL
  SELECT r.* FROM s, "AnalyticsSecurityRollup" r WHERE r."grain" = 60 AND r."bucket" >= p_from AND r."bucket" < s.h1
  UNION ALL
  SELECT r.* FROM s, "AnalyticsSecurityRollup" r WHERE r."grain" = 60 AND r."bucket" >= s.h2 AND r."bucket" < p_to
$fn$;

-- The step (seconds) a Grafana panel bins rollup rows by for its $__interval: whole minutes, whole hours from an
-- hour, whole days from a day (so hour and day rows bin exactly).
CREATE FUNCTION analytics_step(p_from timestamp, p_to timestamp, p_interval_ms bigint) RETURNS integer
LANGUAGE sql IMMUTABLE AS $fn$
  SELECT CASE WHEN p_interval_ms >= 86400000 THEN (ceil(p_interval_ms / 86400000.0) * 86400)::integer
              WHEN p_interval_ms >= 3600000 THEN (ceil(p_interval_ms / 3600000.0) * 3600)::integer
              ELSE (ceil(greatest(p_interval_ms, 60000) / 60000.0) * 60)::integer END
$fn$;

-- The q-quantile (0..1) of a cumulative latency histogram, as Prometheus' histogram_quantile: linear interpolation
-- inside the bucket holding the rank (from 0 in the first); beyond the last finite bound (10 s), that bound.
-- `le` holds the cumulative counts for the bounds 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000 and
-- 10000 ms; `total` is the +Inf count (all requests).
CREATE FUNCTION analytics_latency_quantile(q double precision, le bigint[], total bigint) RETURNS double precision
LANGUAGE sql IMMUTABLE AS $fn$
  WITH b(bounds) AS (SELECT ARRAY[1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000]::double precision[]),
       r(rank) AS (SELECT q * total),
       i(idx) AS (SELECT min(s) FROM generate_subscripts(le, 1) s, r WHERE le[s] >= r.rank AND le[s] > 0)
  SELECT CASE
           WHEN total IS NULL OR total <= 0 THEN NULL
           WHEN i.idx IS NULL THEN b.bounds[13]
           WHEN i.idx = 1 THEN b.bounds[1] * r.rank / le[1]
           ELSE b.bounds[i.idx - 1] + (b.bounds[i.idx] - b.bounds[i.idx - 1])
                * (r.rank - le[i.idx - 1]) / (le[i.idx] - le[i.idx - 1])
         END
    FROM b, r, i
$fn$;
