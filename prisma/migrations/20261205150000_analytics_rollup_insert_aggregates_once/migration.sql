-- The insert trigger of AnalyticsRequest aggregates the statement's rows once, per minute, and derives the hour and
-- day rows from those minute aggregates, instead of aggregating every row three times (a CROSS JOIN with the three
-- grains). Same rows, same sums: counts, latency sums and histogram buckets add up across minutes, and the latest
-- time of an hour is the latest of its minutes. The aggregate was most of the trigger's cost: bench/analytics.ts
-- measures it per row written (issue 18: what analytics recording costs an MCP call).

CREATE OR REPLACE FUNCTION analytics_request_rollup_insert() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  WITH m AS (
    SELECT date_bin(interval '60 seconds', n."timestamp", TIMESTAMP '2000-01-01') AS bucket,
           n."endpoint", n."method", n."statusCode", coalesce(n."oauthError", '') AS "oauthError",
           count(*) AS requests, sum(n."responseTime") AS "latencySum",
           count(*) FILTER (WHERE n."responseTime" <= 1) AS "le1",
           count(*) FILTER (WHERE n."responseTime" <= 2.5) AS "le2p5",
           count(*) FILTER (WHERE n."responseTime" <= 5) AS "le5",
           count(*) FILTER (WHERE n."responseTime" <= 10) AS "le10",
           count(*) FILTER (WHERE n."responseTime" <= 25) AS "le25",
           count(*) FILTER (WHERE n."responseTime" <= 50) AS "le50",
           count(*) FILTER (WHERE n."responseTime" <= 100) AS "le100",
           count(*) FILTER (WHERE n."responseTime" <= 250) AS "le250",
           count(*) FILTER (WHERE n."responseTime" <= 500) AS "le500",
           count(*) FILTER (WHERE n."responseTime" <= 1000) AS "le1000",
           count(*) FILTER (WHERE n."responseTime" <= 2500) AS "le2500",
           count(*) FILTER (WHERE n."responseTime" <= 5000) AS "le5000",
           count(*) FILTER (WHERE n."responseTime" <= 10000) AS "le10000",
           max(n."timestamp") AS "lastSeen"
      FROM new_rows n
     GROUP BY 1, 2, 3, 4, 5
  )
  INSERT INTO "AnalyticsTrafficRollup" AS r
    ("grain", "bucket", "endpoint", "method", "statusCode", "oauthError", "requests", "latencySum", "le1", "le2p5", "le5", "le10", "le25", "le50", "le100", "le250", "le500", "le1000", "le2500", "le5000", "le10000", "lastSeen")
  SELECT g.grain, CASE g.grain WHEN 60 THEN m.bucket ELSE date_bin(make_interval(secs => g.grain), m.bucket, TIMESTAMP '2000-01-01') END,
         m."endpoint", m."method", m."statusCode", m."oauthError",
         sum(m.requests), sum(m."latencySum"), sum(m."le1"), sum(m."le2p5"), sum(m."le5"), sum(m."le10"), sum(m."le25"), sum(m."le50"), sum(m."le100"), sum(m."le250"), sum(m."le500"), sum(m."le1000"), sum(m."le2500"), sum(m."le5000"), sum(m."le10000"), max(m."lastSeen")
    FROM m CROSS JOIN (VALUES (60), (3600), (86400)) AS g(grain)
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

  WITH m AS (
    SELECT date_bin(interval '60 seconds', n."timestamp", TIMESTAMP '2000-01-01') AS bucket,
           coalesce(n."clientId", '') AS "clientId", coalesce(n."userId", '') AS "userId",
           count(*) AS requests, count(*) FILTER (WHERE n."statusCode" BETWEEN 400 AND 499) AS "clientErrors",
           count(*) FILTER (WHERE n."statusCode" >= 500) AS "serverErrors", max(n."timestamp") AS "lastSeen"
      FROM new_rows n
     WHERE n."clientId" IS NOT NULL OR n."userId" IS NOT NULL
     GROUP BY 1, 2, 3
  )
  INSERT INTO "AnalyticsUsageRollup" AS r
    ("grain", "bucket", "clientId", "userId", "requests", "clientErrors", "serverErrors", "lastSeen")
  SELECT g.grain, CASE g.grain WHEN 60 THEN m.bucket ELSE date_bin(make_interval(secs => g.grain), m.bucket, TIMESTAMP '2000-01-01') END,
         m."clientId", m."userId", sum(m.requests), sum(m."clientErrors"), sum(m."serverErrors"), max(m."lastSeen")
    FROM m CROSS JOIN (VALUES (60), (3600), (86400)) AS g(grain)
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
