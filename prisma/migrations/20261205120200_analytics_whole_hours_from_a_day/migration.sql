-- Ranges of a day or more are read in whole hours (issue 18): widened to the hours that hold their ends, so they read
-- day and hour rollup rows only. Read to the minute, a 30-day range ending now read up to two hours of minute rows
-- per key at its ends, and the keys seen in a minute keep growing with the traffic until every client, user and route
-- shows up in every minute: at 30 M stored requests those minute rows outnumbered the month's day rows, and the top
-- lists were 2-2.5x slower than at 1 M. Hour and day rows hold every key at any volume, so the cost no longer grows.
-- A range ending now loses nothing (the current hour's row holds only what has happened); a range in the past gains
-- at most an hour at each end, as a chart of hour buckets shows them anyway. Shorter ranges stay exact to the minute,
-- and `p_exact` keeps any range exact (the console's security event list counts exactly the rows it lists).
-- The functions change their signatures (a new parameter with a default), so they are dropped and created again;
-- existing calls (the server's, Grafana's) keep working unchanged.

DROP FUNCTION analytics_traffic(timestamp, timestamp, integer);
DROP FUNCTION analytics_usage(timestamp, timestamp, integer);
DROP FUNCTION analytics_security(timestamp, timestamp, integer);
DROP FUNCTION analytics_security_types(timestamp, timestamp, integer);
DROP FUNCTION analytics_span(timestamp, timestamp, integer, text);
DROP FUNCTION analytics_spans(timestamp, timestamp, integer);

-- The spans of a range: [lo, hi) is the range as read (widened to whole hours from a day on, unless p_exact); day
-- rows for [d1, d2), hour rows for [h1, d1) and [d2, h2), minute rows for [lo, h1) and [h2, hi), as far as the step
-- allows (a step that is not whole hours reads minute rows only, one that is not whole days no day rows).
CREATE FUNCTION analytics_spans(p_from timestamp, p_to timestamp, p_step_seconds integer, p_exact boolean DEFAULT false)
RETURNS TABLE (lo timestamp, hi timestamp, d1 timestamp, d2 timestamp, h1 timestamp, h2 timestamp) LANGUAGE sql IMMUTABLE AS $fn$
  WITH r AS (
    SELECT CASE WHEN widen THEN date_trunc('hour', p_from) ELSE p_from END AS lo,
           CASE WHEN widen THEN date_trunc('hour', p_to + interval '1 hour' - interval '1 microsecond') ELSE p_to END AS hi
      FROM (SELECT NOT p_exact AND p_to - p_from >= interval '1 day' AS widen) w
  ), h AS (
    SELECT r.lo, r.hi, CASE WHEN hourly THEN hc ELSE r.hi END AS h1, CASE WHEN hourly THEN hf ELSE r.hi END AS h2
      FROM r, LATERAL (SELECT hc, hf, p_step_seconds % 3600 = 0 AND hc < hf AS hourly
              FROM (SELECT date_trunc('hour', r.lo + interval '1 hour' - interval '1 microsecond') AS hc,
                           date_trunc('hour', r.hi) AS hf) x) y
  ), d AS (
    SELECT h.lo, h.hi, dc, df, p_step_seconds % 86400 = 0 AND dc < df AND h.h1 < h.h2 AS daily, h.h1, h.h2
      FROM h, LATERAL (SELECT date_trunc('day', h.lo + interval '1 day' - interval '1 microsecond') AS dc,
                              date_trunc('day', h.hi) AS df) x
  )
  SELECT lo, hi, CASE WHEN daily THEN dc ELSE h2 END, CASE WHEN daily THEN df ELSE h2 END, h1, h2 FROM d
$fn$;

-- One bound of the spans, as a scalar: with constant arguments PostgreSQL computes it while planning, so every span
-- is an index range scan on the rollup's primary key (migration 20261205100000_analytics_rollup_span_bounds).
CREATE FUNCTION analytics_span(p_from timestamp, p_to timestamp, p_step_seconds integer, which text, p_exact boolean DEFAULT false)
RETURNS timestamp LANGUAGE sql IMMUTABLE AS $fn$
  SELECT CASE which WHEN 'lo' THEN s.lo WHEN 'hi' THEN s.hi WHEN 'd1' THEN s.d1 WHEN 'd2' THEN s.d2 WHEN 'h1' THEN s.h1 ELSE s.h2 END
    FROM analytics_spans(p_from, p_to, p_step_seconds, p_exact) s
$fn$;

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

CREATE FUNCTION analytics_security_types(p_from timestamp, p_to timestamp, p_step_seconds integer DEFAULT 86400, p_exact boolean DEFAULT false)
RETURNS SETOF "AnalyticsSecurityTypeRollup" LANGUAGE sql STABLE AS $fn$
  SELECT r.* FROM "AnalyticsSecurityTypeRollup" r WHERE r."grain" = 86400 AND r."bucket" >= analytics_span(p_from, p_to, p_step_seconds, 'd1', p_exact) AND r."bucket" < analytics_span(p_from, p_to, p_step_seconds, 'd2', p_exact)
  UNION ALL
  SELECT r.* FROM "AnalyticsSecurityTypeRollup" r WHERE r."grain" = 3600 AND r."bucket" >= analytics_span(p_from, p_to, p_step_seconds, 'h1', p_exact) AND r."bucket" < analytics_span(p_from, p_to, p_step_seconds, 'd1', p_exact)
  UNION ALL
  SELECT r.* FROM "AnalyticsSecurityTypeRollup" r WHERE r."grain" = 3600 AND r."bucket" >= analytics_span(p_from, p_to, p_step_seconds, 'd2', p_exact) AND r."bucket" < analytics_span(p_from, p_to, p_step_seconds, 'h2', p_exact)
  UNION ALL
  SELECT r.* FROM "AnalyticsSecurityTypeRollup" r WHERE r."grain" = 60 AND r."bucket" >= analytics_span(p_from, p_to, p_step_seconds, 'lo', p_exact) AND r."bucket" < analytics_span(p_from, p_to, p_step_seconds, 'h1', p_exact)
  UNION ALL
  SELECT r.* FROM "AnalyticsSecurityTypeRollup" r WHERE r."grain" = 60 AND r."bucket" >= analytics_span(p_from, p_to, p_step_seconds, 'h2', p_exact) AND r."bucket" < analytics_span(p_from, p_to, p_step_seconds, 'hi', p_exact)
$fn$;
