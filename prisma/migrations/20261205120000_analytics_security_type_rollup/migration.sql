-- AnalyticsSecurityTypeRollup: security events per time bucket, type and severity only (issue 18).
-- AnalyticsSecurityRollup is keyed by client and address too, so over a month it holds about one row per distinct
-- (day, type, client, address): the security summary, the by-type and by-severity series and the unreviewed count
-- read more rows the more distinct addresses there were (5-10x from 1 M to 30 M stored requests). Those figures need
-- neither key: this rollup has at most (types x severities) rows per bucket, whatever the volume. The per-client and
-- per-address lists keep reading AnalyticsSecurityRollup.
-- Kept by the same statement-level triggers, in the same statement as the raw rows and the finer rollup; filled here
-- from AnalyticsSecurityRollup, which the same triggers have kept exact.

CREATE TABLE "AnalyticsSecurityTypeRollup" (
    "grain" INTEGER NOT NULL,
    "bucket" TIMESTAMP(3) NOT NULL,
    "eventType" TEXT NOT NULL,
    "severity" TEXT NOT NULL,
    "events" INTEGER NOT NULL,
    "reviewed" INTEGER NOT NULL,
    "lastSeen" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "AnalyticsSecurityTypeRollup_pkey" PRIMARY KEY ("grain","bucket","eventType","severity")
);

-- The triggers of AnalyticsSecurity, as before, plus the same deltas summed into AnalyticsSecurityTypeRollup. The
-- finer rollup is written first in each, so every writer takes row locks in the same order.

CREATE OR REPLACE FUNCTION analytics_security_rollup_insert() RETURNS trigger
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
  INSERT INTO "AnalyticsSecurityTypeRollup" AS r
    ("grain", "bucket", "eventType", "severity", "events", "reviewed", "lastSeen")
  SELECT g.grain, date_bin(make_interval(secs => g.grain), n."timestamp", TIMESTAMP '2000-01-01'),
         n."eventType", n."severity", count(*), count(*) FILTER (WHERE n."reviewedAt" IS NOT NULL), max(n."timestamp")
    FROM new_rows n CROSS JOIN (VALUES (60), (3600), (86400)) AS g(grain)
   GROUP BY 1, 2, 3, 4
   ORDER BY 1, 2, 3, 4
  ON CONFLICT ("grain", "bucket", "eventType", "severity") DO UPDATE SET
    "events" = r."events" + excluded."events",
    "reviewed" = r."reviewed" + excluded."reviewed",
    "lastSeen" = greatest(r."lastSeen", excluded."lastSeen");
  RETURN NULL;
END
$fn$;

CREATE OR REPLACE FUNCTION analytics_security_rollup_delete() RETURNS trigger
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
  INSERT INTO "AnalyticsSecurityTypeRollup" AS r
    ("grain", "bucket", "eventType", "severity", "events", "reviewed", "lastSeen")
  SELECT g.grain, date_bin(make_interval(secs => g.grain), n."timestamp", TIMESTAMP '2000-01-01'),
         n."eventType", n."severity", -count(*), -count(*) FILTER (WHERE n."reviewedAt" IS NOT NULL), TIMESTAMP '2000-01-01'
    FROM old_rows n CROSS JOIN (VALUES (60), (3600), (86400)) AS g(grain)
   GROUP BY 1, 2, 3, 4
   ORDER BY 1, 2, 3, 4
  ON CONFLICT ("grain", "bucket", "eventType", "severity") DO UPDATE SET
    "events" = r."events" + excluded."events",
    "reviewed" = r."reviewed" + excluded."reviewed",
    "lastSeen" = greatest(r."lastSeen", excluded."lastSeen");
  RETURN NULL;
END
$fn$;

-- Marking events reviewed (or not) moves them in or out of `reviewed`; nothing else of a row is expected to change.
CREATE OR REPLACE FUNCTION analytics_security_rollup_update() RETURNS trigger
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
  INSERT INTO "AnalyticsSecurityTypeRollup" AS r
    ("grain", "bucket", "eventType", "severity", "events", "reviewed", "lastSeen")
  SELECT g.grain, date_bin(make_interval(secs => g.grain), n."timestamp", TIMESTAMP '2000-01-01'),
         n."eventType", n."severity", 0, sum(n.delta), TIMESTAMP '2000-01-01'
    FROM (SELECT o.*, (CASE WHEN nw."reviewedAt" IS NOT NULL THEN 1 ELSE 0 END) - (CASE WHEN o."reviewedAt" IS NOT NULL THEN 1 ELSE 0 END) AS delta
            FROM old_rows o JOIN new_rows nw ON nw."id" = o."id" AND nw."timestamp" = o."timestamp") n CROSS JOIN (VALUES (60), (3600), (86400)) AS g(grain)
   WHERE n.delta <> 0
   GROUP BY 1, 2, 3, 4
   ORDER BY 1, 2, 3, 4
  ON CONFLICT ("grain", "bucket", "eventType", "severity") DO UPDATE SET
    "events" = r."events" + excluded."events",
    "reviewed" = r."reviewed" + excluded."reviewed",
    "lastSeen" = greatest(r."lastSeen", excluded."lastSeen");
  RETURN NULL;
END
$fn$;

INSERT INTO "AnalyticsSecurityTypeRollup" ("grain", "bucket", "eventType", "severity", "events", "reviewed", "lastSeen")
SELECT "grain", "bucket", "eventType", "severity", sum("events"), sum("reviewed"), max("lastSeen")
  FROM "AnalyticsSecurityRollup"
 GROUP BY 1, 2, 3, 4;

-- A range's rows, read as analytics_security reads the finer rollup: day, hour and minute spans, bounds known while
-- planning.
CREATE FUNCTION analytics_security_types(p_from timestamp, p_to timestamp, p_step_seconds integer DEFAULT 86400)
RETURNS SETOF "AnalyticsSecurityTypeRollup" LANGUAGE sql STABLE AS $fn$
  SELECT r.* FROM "AnalyticsSecurityTypeRollup" r WHERE r."grain" = 86400 AND r."bucket" >= analytics_span(p_from, p_to, p_step_seconds, 'd1') AND r."bucket" < analytics_span(p_from, p_to, p_step_seconds, 'd2')
  UNION ALL
  SELECT r.* FROM "AnalyticsSecurityTypeRollup" r WHERE r."grain" = 3600 AND r."bucket" >= analytics_span(p_from, p_to, p_step_seconds, 'h1') AND r."bucket" < analytics_span(p_from, p_to, p_step_seconds, 'd1')
  UNION ALL
  SELECT r.* FROM "AnalyticsSecurityTypeRollup" r WHERE r."grain" = 3600 AND r."bucket" >= analytics_span(p_from, p_to, p_step_seconds, 'd2') AND r."bucket" < analytics_span(p_from, p_to, p_step_seconds, 'h2')
  UNION ALL
  SELECT r.* FROM "AnalyticsSecurityTypeRollup" r WHERE r."grain" = 60 AND r."bucket" >= p_from AND r."bucket" < analytics_span(p_from, p_to, p_step_seconds, 'h1')
  UNION ALL
  SELECT r.* FROM "AnalyticsSecurityTypeRollup" r WHERE r."grain" = 60 AND r."bucket" >= analytics_span(p_from, p_to, p_step_seconds, 'h2') AND r."bucket" < p_to
$fn$;
