/**
 * The time range of an analytics question ("the last 24 hours", "from … to …") and the chart bucket width that suits
 * it: shared by the summaries (summaries.ts), the reporting API, the console's tRPC routers and the MCP admin tools.
 */
import { z } from "zod";

export interface TimeRange {
  from: Date;
  to: Date;
}

const MAX_RANGE_MS = 400 * 24 * 3600 * 1000;

/**
 * Whether an instant can bound a query: years 1 to 9999. Beyond them an instant has no ISO 8601 text without an
 * expanded year (`+033658-…`), which PostgreSQL refuses; a bound past them is a 400, not a 500.
 */
export function isQueryableInstant(date: Date): boolean {
  const ms = date.getTime();
  return ms >= EARLIEST_INSTANT_MS && ms <= LATEST_INSTANT_MS;
}
export const INSTANT_BOUNDS_MESSAGE = "must be between 0001-01-01 and 9999-12-31";
/** A date input (the console's tRPC routers) that can bound a query: anything else is refused as bad input. */
export const queryableDate = z.coerce.date().refine(isQueryableInstant, INSTANT_BOUNDS_MESSAGE);
const EARLIEST_INSTANT_MS = Date.parse("0001-01-01T00:00:00.000Z");
const LATEST_INSTANT_MS = Date.parse("9999-12-31T23:59:59.999Z");

/**
 * A range from optional bounds: `to` defaults to now, `from` to `defaultHours` before `to`; at most 400 days; a
 * reversed range is swapped rather than refused.
 */
export function resolveRange(input: { from?: Date | string | null; to?: Date | string | null } = {}, defaultHours = 24): TimeRange {
  const to = toDate(input.to) ?? new Date();
  let from = toDate(input.from) ?? new Date(to.getTime() - defaultHours * 3600_000);
  if (from > to) return resolveRange({ from: to, to: from }, defaultHours);
  if (to.getTime() - from.getTime() > MAX_RANGE_MS) from = new Date(to.getTime() - MAX_RANGE_MS);
  return { from, to };
}

function toDate(value: Date | string | null | undefined): Date | undefined {
  if (!value) return undefined;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/**
 * A bucket width (seconds) giving about `points` points over the range, rounded to a readable step; whole hours at
 * least for a range of a day or more, so that a chart reads hour rollups (a fixed number of rows per key, whatever
 * the volume) rather than every minute row of the day (migration *_analytics_step_hours_from_a_day, as Grafana).
 */
export function bucketSecondsFor(range: TimeRange, points = 60): number {
  const steps = [60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 7 * 86400];
  const seconds = (range.to.getTime() - range.from.getTime()) / 1000;
  const wanted = Math.max(seconds / points, seconds >= 86400 ? 3600 : 0);
  return steps.find((s) => s >= wanted) ?? steps.at(-1)!;
}
