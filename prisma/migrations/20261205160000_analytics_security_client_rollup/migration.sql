-- AnalyticsSecurityClientRollup: security events per time bucket and client only (issue 18).
-- Grafana's "Clients with the most security events" read AnalyticsSecurityRollup, keyed by type, severity, client
-- and address too: a month of it holds about one row per distinct (day, type, severity, client, address), so the
-- per-client list read more rows the more addresses each client's events came from (3.3x slower at 30 M stored
-- requests than at 1 M, bench/analytics-scale.ts), and an address storm against one client multiplied it. This
-- rollup holds at most one row per client per bucket. Kept by the same statement-level triggers, in the same statement
-- as the raw rows and the other security rollups (written after them, so every writer takes row locks in one order);
-- events without a client are not kept here. Partitioned by grain like the other rollups (migration
-- 20261205140000_analytics_rollups_by_grain). Filled here from AnalyticsSecurityRollup, which is exact.

CREATE TABLE "AnalyticsSecurityClientRollup" (
    "grain" INTEGER NOT NULL,
    "bucket" TIMESTAMP(3) NOT NULL,
    "clientId" TEXT NOT NULL,
    "events" INTEGER NOT NULL,
    "lastSeen" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "AnalyticsSecurityClientRollup_pkey" PRIMARY KEY ("grain","bucket","clientId")
) PARTITION BY LIST ("grain");
CREATE TABLE "AnalyticsSecurityClientRollup_minute" PARTITION OF "AnalyticsSecurityClientRollup" FOR VALUES IN (60);
CREATE TABLE "AnalyticsSecurityClientRollup_hour" PARTITION OF "AnalyticsSecurityClientRollup" FOR VALUES IN (3600);
CREATE TABLE "AnalyticsSecurityClientRollup_day" PARTITION OF "AnalyticsSecurityClientRollup" FOR VALUES IN (86400);

INSERT INTO "AnalyticsSecurityClientRollup" ("grain", "bucket", "clientId", "events", "lastSeen")
SELECT "grain", "bucket", "clientId", sum("events"), max("lastSeen")
  FROM "AnalyticsSecurityRollup"
 WHERE "clientId" <> ''
 GROUP BY 1, 2, 3
HAVING sum("events") <> 0
 ORDER BY 1, 2, 3;

-- The insert and delete triggers of AnalyticsSecurity as migration 20261205120000 left them, plus the same deltas per
-- client. Marking events reviewed changes no count here, so the update trigger is unchanged.

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
  INSERT INTO "AnalyticsSecurityClientRollup" AS r ("grain", "bucket", "clientId", "events", "lastSeen")
  SELECT g.grain, date_bin(make_interval(secs => g.grain), n."timestamp", TIMESTAMP '2000-01-01'), n."clientId", count(*), max(n."timestamp")
    FROM new_rows n CROSS JOIN (VALUES (60), (3600), (86400)) AS g(grain)
   WHERE n."clientId" IS NOT NULL AND n."clientId" <> ''
   GROUP BY 1, 2, 3
   ORDER BY 1, 2, 3
  ON CONFLICT ("grain", "bucket", "clientId") DO UPDATE SET
    "events" = r."events" + excluded."events",
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
  INSERT INTO "AnalyticsSecurityClientRollup" AS r ("grain", "bucket", "clientId", "events", "lastSeen")
  SELECT g.grain, date_bin(make_interval(secs => g.grain), n."timestamp", TIMESTAMP '2000-01-01'), n."clientId", -count(*), TIMESTAMP '2000-01-01'
    FROM old_rows n CROSS JOIN (VALUES (60), (3600), (86400)) AS g(grain)
   WHERE n."clientId" IS NOT NULL AND n."clientId" <> ''
   GROUP BY 1, 2, 3
   ORDER BY 1, 2, 3
  ON CONFLICT ("grain", "bucket", "clientId") DO UPDATE SET
    "events" = r."events" + excluded."events",
    "lastSeen" = greatest(r."lastSeen", excluded."lastSeen");
  RETURN NULL;
END
$fn$;

-- A range's rows, read as analytics_security reads the finer rollup: day, hour and minute spans, bounds known while
-- planning, widened to whole hours from a day on unless p_exact (migration 20261205120200).
CREATE FUNCTION analytics_security_clients(p_from timestamp, p_to timestamp, p_step_seconds integer DEFAULT 86400, p_exact boolean DEFAULT false)
RETURNS SETOF "AnalyticsSecurityClientRollup" LANGUAGE sql STABLE AS $fn$
  SELECT r.* FROM "AnalyticsSecurityClientRollup" r WHERE r."grain" = 86400 AND r."bucket" >= analytics_span(p_from, p_to, p_step_seconds, 'd1', p_exact) AND r."bucket" < analytics_span(p_from, p_to, p_step_seconds, 'd2', p_exact)
  UNION ALL
  SELECT r.* FROM "AnalyticsSecurityClientRollup" r WHERE r."grain" = 3600 AND r."bucket" >= analytics_span(p_from, p_to, p_step_seconds, 'h1', p_exact) AND r."bucket" < analytics_span(p_from, p_to, p_step_seconds, 'd1', p_exact)
  UNION ALL
  SELECT r.* FROM "AnalyticsSecurityClientRollup" r WHERE r."grain" = 3600 AND r."bucket" >= analytics_span(p_from, p_to, p_step_seconds, 'd2', p_exact) AND r."bucket" < analytics_span(p_from, p_to, p_step_seconds, 'h2', p_exact)
  UNION ALL
  SELECT r.* FROM "AnalyticsSecurityClientRollup" r WHERE r."grain" = 60 AND r."bucket" >= analytics_span(p_from, p_to, p_step_seconds, 'lo', p_exact) AND r."bucket" < analytics_span(p_from, p_to, p_step_seconds, 'h1', p_exact)
  UNION ALL
  SELECT r.* FROM "AnalyticsSecurityClientRollup" r WHERE r."grain" = 60 AND r."bucket" >= analytics_span(p_from, p_to, p_step_seconds, 'h2', p_exact) AND r."bucket" < analytics_span(p_from, p_to, p_step_seconds, 'hi', p_exact)
$fn$;
