/**
 * Analytics and observability of one server instance (`services.analytics`): the domain-event subscriber, the
 * Prometheus registry and `/metrics` handler, the batched analytics writer, the retention job, and a span helper the
 * domain may call without importing OpenTelemetry. The read side over HTTP is server/reporting.
 *
 * Only this directory imports prom-client and OpenTelemetry; the domain emits events (server/events.ts).
 */
import type { Request as ExpressRequest, Response as ExpressResponse } from "express";
import { SpanStatusCode, trace, type Attributes } from "@opentelemetry/api";
import type { Database } from "../db/client.ts";
import type { Env } from "../env.ts";
import type { DomainEventBus } from "../events.ts";
import type { JobRunner } from "../jobs.ts";
import type { Logger } from "../logger.ts";
import { metricsHandler } from "./metrics-endpoint.ts";
import { createMetrics, type AnalyticsMetrics, type DatabaseProbeResult } from "./metrics.ts";
import { AnalyticsRecorder } from "./recorder.ts";
import { ensureAnalyticsPartitions, sweepAnalytics, type RetentionDays } from "./retention.ts";
import { subscribeAnalytics } from "./subscriber.ts";
import { LIVE_CLIENTS_SQL } from "./summaries.ts";
import { flushTracing, TRACER_NAME, tracingActive } from "./trace-context.ts";

export interface Analytics {
  metrics: AnalyticsMetrics;
  /** Absent when ANALYTICS_ENABLED=false (metrics are still counted; no rows are written). */
  recorder?: AnalyticsRecorder;
  /** Express handler for `GET /metrics` (token / trusted-range protected). */
  metricsHandler: (req: ExpressRequest, res: ExpressResponse) => Promise<void>;
  /**
   * Runs `fn` inside a span named `name` (an OAuth step, a tool call) when tracing is on; just runs it otherwise.
   * The span records an exception and an error status if `fn` throws.
   */
  span<T>(name: string, attributes: Attributes, fn: () => Promise<T>): Promise<T>;
  /** Writes buffered rows now (tests; shutdown does it too). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface AnalyticsDependencies {
  env: Env;
  log: Logger;
  db: Database;
  /** The domain events recorded (server/events.ts). */
  events: DomainEventBus;
  /** Runs the partition and retention jobs. */
  jobs: JobRunner;
}

/** Raw rows: ANALYTICS_RAW_RETENTION_DAYS, else the earlier ANALYTICS_RETENTION_DAYS, else 7 days; rollups: 400. */
export function analyticsRetentionDays(env: Env): RetentionDays {
  return { raw: env.ANALYTICS_RAW_RETENTION_DAYS ?? env.ANALYTICS_RETENTION_DAYS ?? 7, rollup: env.ANALYTICS_ROLLUP_RETENTION_DAYS };
}

/** Scrape-time database facts are cached this long, so several scrapers (or a refresh storm) cost one query. */
const PROBE_CACHE_MS = 5_000;
const PROBE_TIMEOUT_MS = 1_500;

export function createAnalytics(deps: AnalyticsDependencies): Analytics {
  const { env, log } = deps;
  const probeDatabase = cachedProbe(deps.db);
  let recorder: AnalyticsRecorder | undefined;
  const metrics = createMetrics({
    pool: deps.db.pool,
    probeDatabase,
    version: process.env.npm_package_version ?? "0.1.0",
    bufferedRows: () => recorder?.size ?? 0,
  });
  if (env.ANALYTICS_ENABLED) recorder = new AnalyticsRecorder({ pool: deps.db.pool, metrics, log });
  const tracer = tracingActive() ? trace.getTracer(TRACER_NAME) : undefined;
  const unsubscribe = subscribeAnalytics({ events: deps.events, metrics, recorder, tracer });

  // Daily partitions a week ahead (soon after start, then every 6 hours), and retention every hour.
  deps.jobs.every("analytics.partitions", 6 * 3600_000, () => ensureAnalyticsPartitions(deps.db.pool), 1_000);
  const days = analyticsRetentionDays(env);
  deps.jobs.every(
    "analytics.retention",
    3600_000,
    async () => {
      const swept = await sweepAnalytics({ pool: deps.db.pool, metrics }, days);
      if (swept.requests || swept.security || swept.rollups) log.info({ ...swept, days }, "analytics retention sweep");
      return swept;
    },
    60_000,
  );

  return {
    metrics,
    recorder,
    metricsHandler: metricsHandler({ env, registry: metrics.registry, log }),
    span: tracer
      ? (name, attributes, fn) =>
          tracer.startActiveSpan(name, { attributes }, async (span) => {
            try {
              return await fn();
            } catch (error) {
              span.recordException(error as Error);
              span.setStatus({ code: SpanStatusCode.ERROR });
              throw error;
            } finally {
              span.end();
            }
          })
      : (_name, _attributes, fn) => fn(),
    flush: () => recorder?.flush() ?? Promise.resolve(),
    async close() {
      unsubscribe();
      await recorder?.close();
      await flushTracing();
    },
  };
}

/**
 * One probe per PROBE_CACHE_MS shared by every gauge that needs it: reachability (`database_up`), the live-clients
 * count and clients by kind. A probe that does not answer within PROBE_TIMEOUT_MS counts as down.
 */
function cachedProbe(db: Database): () => Promise<DatabaseProbeResult> {
  let last: { at: number; result: Promise<DatabaseProbeResult> } | undefined;
  return () => {
    const now = Date.now();
    if (last && now - last.at < PROBE_CACHE_MS) return last.result;
    const result = probe(db);
    last = { at: now, result };
    return result;
  };
}

async function probe(db: Database): Promise<DatabaseProbeResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<DatabaseProbeResult>((resolve) => {
    timer = setTimeout(() => resolve({ up: false }), PROBE_TIMEOUT_MS);
  });
  const query = (async (): Promise<DatabaseProbeResult> => {
    const [live, kinds] = await Promise.all([
      db.pool.query<{ n: number }>(LIVE_CLIENTS_SQL),
      db.pool.query<{ kind: string; count: number }>(`SELECT lower(kind::text) AS kind, count(*)::int AS count FROM "Client" GROUP BY 1`),
    ]);
    return { up: true, activeClients: live.rows[0]?.n ?? 0, clientsByKind: kinds.rows };
  })().catch((): DatabaseProbeResult => ({ up: false }));
  try {
    return await Promise.race([query, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
