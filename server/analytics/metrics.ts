/**
 * The Prometheus registry of one server instance (prom-client 15). Never the global default registry: tests run
 * several servers in one process and each must report only its own traffic.
 *
 * Naming follows the Prometheus conventions (base units, `_total` for counters, `_seconds` for durations) and the
 * OpenTelemetry HTTP semantic conventions for the request histogram. No label carries an unbounded value (see
 * labels.ts).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type pg from "pg";

/** Request latency buckets (seconds): fine below 100 ms where an OAuth server lives, coarse above. */
export const HTTP_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const TOOL_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface DatabaseProbeResult {
  up: boolean;
  activeClients?: number;
  clientsByKind?: Array<{ kind: string; count: number }>;
}

export interface MetricsOptions {
  pool: pg.Pool;
  /** Runs the scrape-time database queries; the caller shares one result between the gauges of a scrape. */
  probeDatabase: () => Promise<DatabaseProbeResult>;
  version: string;
  /** Rows waiting in the analytics writer's buffer (read at scrape time). */
  bufferedRows?: () => number;
  /** Node.js default metrics (CPU, memory, event loop, GC). Off only in unit tests that count families. */
  nodeDefaults?: boolean;
}

export type AnalyticsMetrics = ReturnType<typeof createMetrics>;

export function createMetrics(options: MetricsOptions) {
  const registry = new Registry();
  const registers = [registry];
  if (options.nodeDefaults !== false) collectDefaultMetrics({ register: registry });

  new Gauge({
    name: "app_build_info",
    help: "Always 1; the labels say which build is running.",
    labelNames: ["version", "node_version"],
    registers,
  }).set({ version: options.version, node_version: process.version }, 1);

  const metrics = {
    registry,

    httpDuration: new Histogram({
      name: "http_server_request_duration_seconds",
      help: "Duration of HTTP requests handled by this server, by method, route pattern and the status sent.",
      labelNames: ["method", "route", "status"],
      buckets: HTTP_DURATION_BUCKETS,
      registers,
    }),

    authorizationRequests: new Counter({
      name: "oauth_authorization_requests_total",
      help: "Authorization requests (RFC 6749 §4.1.1) reaching a decision, by outcome.",
      labelNames: ["outcome"],
      registers,
    }),
    tokensIssued: new Counter({
      name: "oauth_tokens_issued_total",
      help: "Access tokens issued by the token endpoint, by grant type.",
      labelNames: ["grant_type"],
      registers,
    }),
    tokenErrors: new Counter({
      name: "oauth_token_errors_total",
      help: "Token endpoint errors (RFC 6749 §5.2), by error code and grant type.",
      labelNames: ["error", "grant_type"],
      registers,
    }),
    refreshRotations: new Counter({
      name: "oauth_refresh_token_rotations_total",
      help: "Refresh tokens exchanged for a successor (OAuth 2.1 §4.3.1 rotation).",
      registers,
    }),
    refreshReuse: new Counter({
      name: "oauth_refresh_token_reuse_total",
      help: "Rotated refresh tokens presented again: `grace` answered within the retry grace window, `revoked` revoked the family.",
      labelNames: ["outcome"],
      registers,
    }),
    tokensRevoked: new Counter({
      name: "oauth_tokens_revoked_total",
      help: "Tokens revoked before expiry, by what was revoked (access_token, refresh_token, grant, client, user).",
      labelNames: ["kind"],
      registers,
    }),
    clientsRegistered: new Counter({
      name: "oauth_clients_registered_total",
      help: "OAuth clients registered, by kind (dynamic RFC 7591, metadata_document, manual).",
      labelNames: ["kind"],
      registers,
    }),
    clientsSwept: new Counter({
      name: "oauth_clients_swept_total",
      help: "Dynamically registered clients deleted because they never obtained a token.",
      registers,
    }),
    activeClients: new Gauge({
      name: "oauth_active_clients",
      help: "Enabled clients holding at least one live (unexpired, unrevoked) access or refresh token.",
      registers,
      async collect() {
        const probe = await options.probeDatabase();
        if (probe.activeClients !== undefined) this.set(probe.activeClients);
      },
    }),
    registeredClients: new Gauge({
      name: "oauth_registered_clients",
      help: "Registered OAuth clients, by kind.",
      labelNames: ["kind"],
      registers,
      async collect() {
        const probe = await options.probeDatabase();
        if (!probe.clientsByKind) return;
        this.reset();
        for (const { kind, count } of probe.clientsByKind) this.set({ kind }, count);
      },
    }),

    mcpRequests: new Counter({
      name: "mcp_requests_total",
      help: "Requests to the MCP endpoints, by transport, JSON-RPC method and HTTP status.",
      labelNames: ["transport", "method", "status"],
      registers,
    }),
    mcpToolCalls: new Counter({
      name: "mcp_tool_calls_total",
      help: "MCP tools/call invocations, by tool and outcome (ok, error, denied).",
      labelNames: ["tool", "outcome"],
      registers,
    }),
    mcpToolDuration: new Histogram({
      name: "mcp_tool_duration_seconds",
      help: "Duration of MCP tool calls, by tool.",
      labelNames: ["tool"],
      buckets: TOOL_DURATION_BUCKETS,
      registers,
    }),

    securityEvents: new Counter({
      name: "security_events_total",
      help: "Security events (token reuse, invalid tokens, PKCE failures, ...), by type and severity.",
      labelNames: ["type", "severity"],
      registers,
    }),
    rateLimited: new Counter({
      name: "rate_limited_requests_total",
      help: "Requests refused by a rate limit, by endpoint and what the limit was keyed on (ip, client).",
      labelNames: ["endpoint", "key"],
      registers,
    }),
    sessionsCleaned: new Counter({
      name: "sessions_expired_deleted_total",
      help: "Expired sign-in sessions deleted by the cleanup job.",
      registers,
    }),

    bufferRows: new Gauge({
      name: "analytics_buffer_rows",
      help: "Analytics rows waiting in memory for the next batched write.",
      registers,
      collect() {
        this.set(options.bufferedRows?.() ?? 0);
      },
    }),
    droppedRows: new Counter({
      name: "analytics_dropped_total",
      help: "Analytics rows dropped: `buffer_full` (writes could not keep up), `write_failed` (the database was unreachable or refused the batch, after retries), `bad_row` (the database refused that row alone) or `shutdown`.",
      labelNames: ["table", "reason"],
      registers,
    }),
    writtenRows: new Counter({
      name: "analytics_rows_written_total",
      help: "Analytics rows written to Postgres, by table.",
      labelNames: ["table"],
      registers,
    }),
    flushDuration: new Histogram({
      name: "analytics_flush_duration_seconds",
      help: "Duration of one batched analytics write.",
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
      registers,
    }),
    flushErrors: new Counter({
      name: "analytics_flush_errors_total",
      help: "Batched analytics writes that failed (rows are retried, then dropped).",
      registers,
    }),
    retentionDeleted: new Counter({
      name: "analytics_retention_deleted_total",
      help: "Analytics rows deleted by the retention sweep, by table.",
      labelNames: ["table"],
      registers,
    }),
  };

  // Known label values start at 0, so a series exists before its first event: `rate()` and `increase()` then see
  // the first increment, and dashboards show 0 rather than "no data".
  for (const outcome of ["login_required", "consent_shown", "consent_remembered", "approved", "denied", "error"]) {
    metrics.authorizationRequests.labels({ outcome }).inc(0);
  }
  for (const grantType of ["authorization_code", "refresh_token"]) metrics.tokensIssued.labels({ grant_type: grantType }).inc(0);
  for (const outcome of ["grace", "revoked"]) metrics.refreshReuse.labels({ outcome }).inc(0);
  for (const kind of ["dynamic", "metadata_document", "manual"]) metrics.clientsRegistered.labels({ kind }).inc(0);
  for (const table of ["AnalyticsRequest", "AnalyticsSecurity"]) {
    metrics.writtenRows.labels({ table }).inc(0);
    metrics.retentionDeleted.labels({ table }).inc(0);
    for (const reason of ["buffer_full", "write_failed", "bad_row", "shutdown"]) metrics.droppedRows.labels({ table, reason }).inc(0);
  }

  // Database pool and reachability, read at scrape time.
  const { pool } = options;
  new Gauge({
    name: "db_pool_connections",
    help: "node-postgres pool connections, by state (idle, used).",
    labelNames: ["state"],
    registers,
    collect() {
      this.set({ state: "idle" }, pool.idleCount);
      this.set({ state: "used" }, pool.totalCount - pool.idleCount);
    },
  });
  new Gauge({
    name: "db_pool_max_connections",
    help: "Maximum size of the node-postgres pool.",
    registers,
    collect() {
      this.set(pool.options.max ?? 10);
    },
  });
  new Gauge({
    name: "db_pool_waiting_requests",
    help: "Queries waiting for a free pool connection.",
    registers,
    collect() {
      this.set(pool.waitingCount);
    },
  });
  new Gauge({
    name: "database_up",
    help: "1 when the database answered the last scrape-time probe, 0 when it did not.",
    registers,
    async collect() {
      const probe = await options.probeDatabase();
      this.set(probe.up ? 1 : 0);
    },
  });

  return metrics;
}
