/**
 * `analytics`: the dashboard's numbers over a chosen range — summary (requests, error rate, latency percentiles,
 * tokens issued, active clients, security events) and time series. Reads server/analytics/summaries.ts (the same
 * queries as `GET /api/analytics` and the Grafana Postgres dashboard). Admins only.
 */
import { z } from "zod";
import {
  activeClients,
  requestSummary,
  requestTimeSeries,
  securityEventSummary,
  tokensIssued,
  topClients,
  topEndpoints,
} from "../../analytics/summaries.ts";
import { bucketSecondsFor, queryableDate, resolveRange, type TimeRange } from "../../analytics/time-range.ts";
import { adminProcedure, router } from "../init.ts";

export const RANGE_PRESETS = { "1h": 1, "24h": 24, "7d": 7 * 24, "30d": 30 * 24 } as const;

/** A preset ending now, or explicit bounds (at most 400 days; see resolveRange). */
const rangeInput = z
  .object({
    range: z.enum(Object.keys(RANGE_PRESETS) as [keyof typeof RANGE_PRESETS, ...Array<keyof typeof RANGE_PRESETS>]).default("24h"),
    from: queryableDate.optional(),
    to: queryableDate.optional(),
  })
  .refine((v) => !v.from || !v.to || v.from < v.to, { message: "`from` must be before `to`", path: ["from"] });

function rangeOf(input: z.output<typeof rangeInput>): TimeRange {
  return input.from || input.to ? resolveRange({ from: input.from, to: input.to }, RANGE_PRESETS[input.range]) : resolveRange({}, RANGE_PRESETS[input.range]);
}

export const analyticsRouter = router({
  summary: adminProcedure.input(rangeInput).query(async ({ ctx, input }) => {
    const range = rangeOf(input);
    const deps = ctx.services;
    const [requests, tokens, clients, security, clientsTop, endpoints] = await Promise.all([
      requestSummary(deps, range),
      tokensIssued(deps, range, bucketSecondsFor(range)),
      activeClients(deps, range),
      securityEventSummary(deps, range),
      topClients(deps, range, 5),
      topEndpoints(deps, range, 5),
    ]);
    return {
      range,
      requests,
      tokensIssued: tokens.total,
      clients,
      security: { total: security.total, unreviewed: security.unreviewed, bySeverity: security.bySeverity, byType: security.byType },
      topClients: clientsTop,
      topEndpoints: endpoints,
    };
  }),

  timeSeries: adminProcedure.input(rangeInput).query(async ({ ctx, input }) => {
    const range = rangeOf(input);
    const bucketSeconds = bucketSecondsFor(range);
    const deps = ctx.services;
    const [requests, tokens, security] = await Promise.all([
      requestTimeSeries(deps, range, bucketSeconds),
      tokensIssued(deps, range, bucketSeconds),
      securityEventSummary(deps, range, bucketSeconds),
    ]);
    return { range, bucketSeconds, requests, tokens: tokens.series, security: security.series };
  }),
});
