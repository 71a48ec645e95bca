-- The rollup tables become partitioned by grain (issue 18): one partition each for minute, hour and day rows.
-- Day and hour rows are updated by every batch for as long as their bucket is current; each update writes a new row
-- version wherever the heap has room, so in one table shared with the minute rows they ended up scattered over the
-- whole of it. At 30 M stored requests a 30-day top list read its 21,600 day and hour rows from 15,600 pages (one
-- page per row, and 4.8 GB of AnalyticsUsageRollup does not stay in memory); at 1 M the same rows sat on 620 pages.
-- In a partition of their own, the day and hour rows of a month fit in a few hundred pages whatever the volume,
-- and the minute rows, which a range reads only near its ends, no longer dilute them. The primary keys lead with
-- "grain", so every span of a range function is pruned to one partition. Existing rows are moved over. The triggers
-- name the tables in their bodies and need no change; the range functions return the tables' row types, so they are
-- dropped first and created again as they were (migration 20261205120200_analytics_whole_hours_from_a_day).

DROP FUNCTION analytics_traffic(timestamp, timestamp, integer, boolean);
DROP FUNCTION analytics_usage(timestamp, timestamp, integer, boolean);
DROP FUNCTION analytics_security(timestamp, timestamp, integer, boolean);

ALTER TABLE "AnalyticsTrafficRollup" RENAME TO "AnalyticsTrafficRollup_unpartitioned";
ALTER TABLE "AnalyticsTrafficRollup_unpartitioned" RENAME CONSTRAINT "AnalyticsTrafficRollup_pkey" TO "AnalyticsTrafficRollup_unpartitioned_pkey";
CREATE TABLE "AnalyticsTrafficRollup" (LIKE "AnalyticsTrafficRollup_unpartitioned" INCLUDING DEFAULTS) PARTITION BY LIST ("grain");
ALTER TABLE "AnalyticsTrafficRollup" ADD CONSTRAINT "AnalyticsTrafficRollup_pkey" PRIMARY KEY ("grain", "bucket", "endpoint", "method", "statusCode", "oauthError");
CREATE TABLE "AnalyticsTrafficRollup_minute" PARTITION OF "AnalyticsTrafficRollup" FOR VALUES IN (60);
CREATE TABLE "AnalyticsTrafficRollup_hour" PARTITION OF "AnalyticsTrafficRollup" FOR VALUES IN (3600);
CREATE TABLE "AnalyticsTrafficRollup_day" PARTITION OF "AnalyticsTrafficRollup" FOR VALUES IN (86400);
INSERT INTO "AnalyticsTrafficRollup" SELECT * FROM "AnalyticsTrafficRollup_unpartitioned" ORDER BY "grain", "bucket", "endpoint", "method", "statusCode", "oauthError";
DROP TABLE "AnalyticsTrafficRollup_unpartitioned";

ALTER TABLE "AnalyticsUsageRollup" RENAME TO "AnalyticsUsageRollup_unpartitioned";
ALTER TABLE "AnalyticsUsageRollup_unpartitioned" RENAME CONSTRAINT "AnalyticsUsageRollup_pkey" TO "AnalyticsUsageRollup_unpartitioned_pkey";
DROP INDEX "AnalyticsUsageRollup_grain_clientId_bucket_idx";
CREATE TABLE "AnalyticsUsageRollup" (LIKE "AnalyticsUsageRollup_unpartitioned" INCLUDING DEFAULTS) PARTITION BY LIST ("grain");
ALTER TABLE "AnalyticsUsageRollup" ADD CONSTRAINT "AnalyticsUsageRollup_pkey" PRIMARY KEY ("grain", "bucket", "clientId", "userId");
CREATE INDEX "AnalyticsUsageRollup_grain_clientId_bucket_idx" ON "AnalyticsUsageRollup"("grain", "clientId", "bucket");
CREATE TABLE "AnalyticsUsageRollup_minute" PARTITION OF "AnalyticsUsageRollup" FOR VALUES IN (60);
CREATE TABLE "AnalyticsUsageRollup_hour" PARTITION OF "AnalyticsUsageRollup" FOR VALUES IN (3600);
CREATE TABLE "AnalyticsUsageRollup_day" PARTITION OF "AnalyticsUsageRollup" FOR VALUES IN (86400);
INSERT INTO "AnalyticsUsageRollup" SELECT * FROM "AnalyticsUsageRollup_unpartitioned" ORDER BY "grain", "bucket", "clientId", "userId";
DROP TABLE "AnalyticsUsageRollup_unpartitioned";

ALTER TABLE "AnalyticsSecurityRollup" RENAME TO "AnalyticsSecurityRollup_unpartitioned";
ALTER TABLE "AnalyticsSecurityRollup_unpartitioned" RENAME CONSTRAINT "AnalyticsSecurityRollup_pkey" TO "AnalyticsSecurityRollup_unpartitioned_pkey";
CREATE TABLE "AnalyticsSecurityRollup" (LIKE "AnalyticsSecurityRollup_unpartitioned" INCLUDING DEFAULTS) PARTITION BY LIST ("grain");
ALTER TABLE "AnalyticsSecurityRollup" ADD CONSTRAINT "AnalyticsSecurityRollup_pkey" PRIMARY KEY ("grain", "bucket", "eventType", "severity", "clientId", "ipAddress");
CREATE TABLE "AnalyticsSecurityRollup_minute" PARTITION OF "AnalyticsSecurityRollup" FOR VALUES IN (60);
CREATE TABLE "AnalyticsSecurityRollup_hour" PARTITION OF "AnalyticsSecurityRollup" FOR VALUES IN (3600);
CREATE TABLE "AnalyticsSecurityRollup_day" PARTITION OF "AnalyticsSecurityRollup" FOR VALUES IN (86400);
INSERT INTO "AnalyticsSecurityRollup" SELECT * FROM "AnalyticsSecurityRollup_unpartitioned" ORDER BY "grain", "bucket", "eventType", "severity", "clientId", "ipAddress";
DROP TABLE "AnalyticsSecurityRollup_unpartitioned";

CREATE FUNCTION analytics_traffic(p_from timestamp, p_to timestamp, p_step_seconds integer DEFAULT 86400, p_exact boolean DEFAULT false)
RETURNS SETOF "AnalyticsTrafficRollup" LANGUAGE sql STABLE AS $fn$
  SELECT r.* FROM "AnalyticsTrafficRollup" r WHERE r."grain" = 86400 AND r."bucket" >= analytics_span(p_from, p_to, p_step_seconds, 'd1', p_exact) AND r."bucket" < analytics_span(p_from, p_to, p_step_seconds, 'd2', p_exact)
  UNION ALL
  SELECT r.* FROM "AnalyticsTrafficRollup" r WHERE r."grain" = 3600 AND r."bucket" >= analytics_span(p_from, p_to, p_step_seconds, 'h1', p_exact) AND r."bucket" < analytics_span(p_from, p_to, p_step_seconds, 'd1', p_exact)
  UNION ALL
  SELECT r.* FROM "AnalyticsTrafficRollup" r WHERE r."grain" = 3600 AND r."bucket" >= analytics_span(p_from, p_to, p_step_seconds, 'd2', p_exact) AND r."bucket" < analytics_span(p_from, p_to, p_step_seconds, 'h2', p_exact)
  UNION ALL
  SELECT r.* FROM "AnalyticsTrafficRollup" r WHERE r."grain" = 60 AND r."bucket" >= analytics_span(p_from, p_to, p_step_seconds, 'lo', p_exact) AND r."bucket" < analytics_span(p_from, p_to, p_step_seconds, 'h1', p_exact)
  UNION ALL
  SELECT r.* FROM "AnalyticsTrafficRollup" r WHERE r."grain" = 60 AND r."bucket" >= analytics_span(p_from, p_to, p_step_seconds, 'h2', p_exact) AND r."bucket" < analytics_span(p_from, p_to, p_step_seconds, 'hi', p_exact)
$fn$;

CREATE FUNCTION analytics_usage(p_from timestamp, p_to timestamp, p_step_seconds integer DEFAULT 86400, p_exact boolean DEFAULT false)
RETURNS SETOF "AnalyticsUsageRollup" LANGUAGE sql STABLE AS $fn$
  SELECT r.* FROM "AnalyticsUsageRollup" r WHERE r."grain" = 86400 AND r."bucket" >= analytics_span(p_from, p_to, p_step_seconds, 'd1', p_exact) AND r."bucket" < analytics_span(p_from, p_to, p_step_seconds, 'd2', p_exact)
  UNION ALL
  SELECT r.* FROM "AnalyticsUsageRollup" r WHERE r."grain" = 3600 AND r."bucket" >= analytics_span(p_from, p_to, p_step_seconds, 'h1', p_exact) AND r."bucket" < analytics_span(p_from, p_to, p_step_seconds, 'd1', p_exact)
  UNION ALL
  SELECT r.* FROM "AnalyticsUsageRollup" r WHERE r."grain" = 3600 AND r."bucket" >= analytics_span(p_from, p_to, p_step_seconds, 'd2', p_exact) AND r."bucket" < analytics_span(p_from, p_to, p_step_seconds, 'h2', p_exact)
  UNION ALL
  SELECT r.* FROM "AnalyticsUsageRollup" r WHERE r."grain" = 60 AND r."bucket" >= analytics_span(p_from, p_to, p_step_seconds, 'lo', p_exact) AND r."bucket" < analytics_span(p_from, p_to, p_step_seconds, 'h1', p_exact)
  UNION ALL
  SELECT r.* FROM "AnalyticsUsageRollup" r WHERE r."grain" = 60 AND r."bucket" >= analytics_span(p_from, p_to, p_step_seconds, 'h2', p_exact) AND r."bucket" < analytics_span(p_from, p_to, p_step_seconds, 'hi', p_exact)
$fn$;

CREATE FUNCTION analytics_security(p_from timestamp, p_to timestamp, p_step_seconds integer DEFAULT 86400, p_exact boolean DEFAULT false)
RETURNS SETOF "AnalyticsSecurityRollup" LANGUAGE sql STABLE AS $fn$
  SELECT r.* FROM "AnalyticsSecurityRollup" r WHERE r."grain" = 86400 AND r."bucket" >= analytics_span(p_from, p_to, p_step_seconds, 'd1', p_exact) AND r."bucket" < analytics_span(p_from, p_to, p_step_seconds, 'd2', p_exact)
  UNION ALL
  SELECT r.* FROM "AnalyticsSecurityRollup" r WHERE r."grain" = 3600 AND r."bucket" >= analytics_span(p_from, p_to, p_step_seconds, 'h1', p_exact) AND r."bucket" < analytics_span(p_from, p_to, p_step_seconds, 'd1', p_exact)
  UNION ALL
  SELECT r.* FROM "AnalyticsSecurityRollup" r WHERE r."grain" = 3600 AND r."bucket" >= analytics_span(p_from, p_to, p_step_seconds, 'd2', p_exact) AND r."bucket" < analytics_span(p_from, p_to, p_step_seconds, 'h2', p_exact)
  UNION ALL
  SELECT r.* FROM "AnalyticsSecurityRollup" r WHERE r."grain" = 60 AND r."bucket" >= analytics_span(p_from, p_to, p_step_seconds, 'lo', p_exact) AND r."bucket" < analytics_span(p_from, p_to, p_step_seconds, 'h1', p_exact)
  UNION ALL
  SELECT r.* FROM "AnalyticsSecurityRollup" r WHERE r."grain" = 60 AND r."bucket" >= analytics_span(p_from, p_to, p_step_seconds, 'h2', p_exact) AND r."bucket" < analytics_span(p_from, p_to, p_step_seconds, 'hi', p_exact)
$fn$;
