-- The rollup range functions read each span's bounds from a scalar IMMUTABLE function instead of joining a CTE of
-- them. With constant arguments (the console's bound parameters, Grafana's expanded macros) PostgreSQL evaluates the
-- bounds while planning, so every span is an index range scan on the rollup's primary key (grain, bucket, ...). Joined
-- from a CTE, the bounds were unknown to the planner: for a range ending now the minute span `bucket < now` looked
-- like the whole table and was planned as a sequential scan (250 ms at 1 M raw rows, growing with the rollups).

CREATE FUNCTION analytics_span(p_from timestamp, p_to timestamp, p_step_seconds integer, which text) RETURNS timestamp
LANGUAGE sql IMMUTABLE AS $fn$
  SELECT CASE which WHEN 'd1' THEN s.d1 WHEN 'd2' THEN s.d2 WHEN 'h1' THEN s.h1 ELSE s.h2 END
    FROM analytics_spans(p_from, p_to, p_step_seconds) s
$fn$;

CREATE OR REPLACE FUNCTION analytics_traffic(p_from timestamp, p_to timestamp, p_step_seconds integer DEFAULT 86400)
RETURNS SETOF "AnalyticsTrafficRollup" LANGUAGE sql STABLE AS $fn$
  SELECT r.* FROM "AnalyticsTrafficRollup" r WHERE r."grain" = 86400 AND r."bucket" >= analytics_span(p_from, p_to, p_step_seconds, 'd1') AND r."bucket" < analytics_span(p_from, p_to, p_step_seconds, 'd2')
  UNION ALL
  SELECT r.* FROM "AnalyticsTrafficRollup" r WHERE r."grain" = 3600 AND r."bucket" >= analytics_span(p_from, p_to, p_step_seconds, 'h1') AND r."bucket" < analytics_span(p_from, p_to, p_step_seconds, 'd1')
  UNION ALL
  SELECT r.* FROM "AnalyticsTrafficRollup" r WHERE r."grain" = 3600 AND r."bucket" >= analytics_span(p_from, p_to, p_step_seconds, 'd2') AND r."bucket" < analytics_span(p_from, p_to, p_step_seconds, 'h2')
  UNION ALL
  SELECT r.* FROM "AnalyticsTrafficRollup" r WHERE r."grain" = 60 AND r."bucket" >= p_from AND r."bucket" < analytics_span(p_from, p_to, p_step_seconds, 'h1')
  UNION ALL
  SELECT r.* FROM "AnalyticsTrafficRollup" r WHERE r."grain" = 60 AND r."bucket" >= analytics_span(p_from, p_to, p_step_seconds, 'h2') AND r."bucket" < p_to
$fn$;

CREATE OR REPLACE FUNCTION analytics_usage(p_from timestamp, p_to timestamp, p_step_seconds integer DEFAULT 86400)
RETURNS SETOF "AnalyticsUsageRollup" LANGUAGE sql STABLE AS $fn$
  SELECT r.* FROM "AnalyticsUsageRollup" r WHERE r."grain" = 86400 AND r."bucket" >= analytics_span(p_from, p_to, p_step_seconds, 'd1') AND r."bucket" < analytics_span(p_from, p_to, p_step_seconds, 'd2')
  UNION ALL
  SELECT r.* FROM "AnalyticsUsageRollup" r WHERE r."grain" = 3600 AND r."bucket" >= analytics_span(p_from, p_to, p_step_seconds, 'h1') AND r."bucket" < analytics_span(p_from, p_to, p_step_seconds, 'd1')
  UNION ALL
  SELECT r.* FROM "AnalyticsUsageRollup" r WHERE r."grain" = 3600 AND r."bucket" >= analytics_span(p_from, p_to, p_step_seconds, 'd2') AND r."bucket" < analytics_span(p_from, p_to, p_step_seconds, 'h2')
  UNION ALL
  SELECT r.* FROM "AnalyticsUsageRollup" r WHERE r."grain" = 60 AND r."bucket" >= p_from AND r."bucket" < analytics_span(p_from, p_to, p_step_seconds, 'h1')
  UNION ALL
  SELECT r.* FROM "AnalyticsUsageRollup" r WHERE r."grain" = 60 AND r."bucket" >= analytics_span(p_from, p_to, p_step_seconds, 'h2') AND r."bucket" < p_to
$fn$;

CREATE OR REPLACE FUNCTION analytics_security(p_from timestamp, p_to timestamp, p_step_seconds integer DEFAULT 86400)
RETURNS SETOF "AnalyticsSecurityRollup" LANGUAGE sql STABLE AS $fn$
  SELECT r.* FROM "AnalyticsSecurityRollup" r WHERE r."grain" = 86400 AND r."bucket" >= analytics_span(p_from, p_to, p_step_seconds, 'd1') AND r."bucket" < analytics_span(p_from, p_to, p_step_seconds, 'd2')
  UNION ALL
  SELECT r.* FROM "AnalyticsSecurityRollup" r WHERE r."grain" = 3600 AND r."bucket" >= analytics_span(p_from, p_to, p_step_seconds, 'h1') AND r."bucket" < analytics_span(p_from, p_to, p_step_seconds, 'd1')
  UNION ALL
  SELECT r.* FROM "AnalyticsSecurityRollup" r WHERE r."grain" = 3600 AND r."bucket" >= analytics_span(p_from, p_to, p_step_seconds, 'd2') AND r."bucket" < analytics_span(p_from, p_to, p_step_seconds, 'h2')
  UNION ALL
  SELECT r.* FROM "AnalyticsSecurityRollup" r WHERE r."grain" = 60 AND r."bucket" >= p_from AND r."bucket" < analytics_span(p_from, p_to, p_step_seconds, 'h1')
  UNION ALL
  SELECT r.* FROM "AnalyticsSecurityRollup" r WHERE r."grain" = 60 AND r."bucket" >= analytics_span(p_from, p_to, p_step_seconds, 'h2') AND r."bucket" < p_to
$fn$;

-- A Grafana panel's step for its $__interval, now also bounded by the range: minute steps only for ranges up to a
-- day, whole hours beyond (whole days from a day's interval). A 30-day panel at Grafana's ~1,000 points asked for a
-- 44-minute step, which read every minute rollup row of the month; it now reads hour rows (720 per key).
CREATE OR REPLACE FUNCTION analytics_step(p_from timestamp, p_to timestamp, p_interval_ms bigint) RETURNS integer
LANGUAGE sql IMMUTABLE AS $fn$
  SELECT CASE WHEN p_interval_ms >= 86400000 THEN (ceil(p_interval_ms / 86400000.0) * 86400)::integer
              WHEN p_interval_ms >= 3600000 OR p_to - p_from > interval '1 day'
                THEN (ceil(greatest(p_interval_ms, 3600000) / 3600000.0) * 3600)::integer
              ELSE (ceil(greatest(p_interval_ms, 60000) / 60000.0) * 60)::integer END
$fn$;
