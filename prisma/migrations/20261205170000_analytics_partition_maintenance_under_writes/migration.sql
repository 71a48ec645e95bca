-- Partition maintenance while the tables are being written (issue 18; found by review, reproduced before the fix).
--
-- analytics_ensure_partitions moved a day's rows out of the DEFAULT partition and then attached the day's new
-- partition; a row for that day inserted in between landed in DEFAULT again, and ATTACH refused ("updated partition
-- constraint for default partition would be violated"). A day that was missing while it took writes (the jobs runner
-- down for over a week) could then never be attached, and since the job creates every day of both tables in one
-- transaction, the failure also undid the days ahead. Now the table is locked against writes (SHARE ROW EXCLUSIVE:
-- reads go on) before a day's partition is created, until the job commits. The parent, not the DEFAULT partition: an
-- INSERT picks its partition when it starts, so one waiting on the DEFAULT partition alone would still write there
-- after the ATTACH and fail; one waiting on the parent routes its rows with the new partition in place. Writes wait
-- while the job creates a partition (once a day per table, a week ahead, when DEFAULT is empty: milliseconds).
--
-- analytics_drop_partitions counted each expired partition's rows just before dropping it. Dropping a partition locks
-- the parent (ACCESS EXCLUSIVE) until the job commits, so every later count ran with all reads and writes of the table
-- waiting. Now every expired partition is counted first, then all are dropped.

CREATE OR REPLACE FUNCTION analytics_ensure_partitions(parent text, p_from date, p_to date) RETURNS integer
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
      EXECUTE format('LOCK TABLE %I IN SHARE ROW EXCLUSIVE MODE', parent);
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

CREATE OR REPLACE FUNCTION analytics_drop_partitions(parent text, cutoff timestamp) RETURNS TABLE (partition_name text, row_count bigint)
LANGUAGE plpgsql AS $fn$
DECLARE
  part record;
  names text[] := '{}';
  counts bigint[] := '{}';
  n bigint;
  i integer;
BEGIN
  FOR part IN
    SELECT c.relname::text AS name, to_date(substring(c.relname::text FROM '_p([0-9]{8})$'), 'YYYYMMDD') AS day
      FROM pg_inherits h JOIN pg_class c ON c.oid = h.inhrelid
     WHERE h.inhparent = format('%I', parent)::regclass AND c.relname::text ~ '_p[0-9]{8}$'
     ORDER BY 2
  LOOP
    EXIT WHEN (part.day + 1)::timestamp > cutoff;
    EXECUTE format('SELECT count(*) FROM %I', part.name) INTO n;
    names := names || part.name;
    counts := counts || n;
  END LOOP;
  FOR i IN 1 .. coalesce(array_length(names, 1), 0) LOOP
    EXECUTE format('DROP TABLE %I', names[i]);
    partition_name := names[i];
    row_count := counts[i];
    RETURN NEXT;
  END LOOP;
END
$fn$;
