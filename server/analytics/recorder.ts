/**
 * Batched writer for the analytics tables. Recording a row is a push onto an in-memory buffer (never awaited on
 * the request path); a timer writes the buffer every second, or sooner once a batch is full, with one INSERT per
 * table. A full buffer drops rows and counts them (`analytics_dropped_total`) rather than slowing requests down; a
 * failed write is retried on the next flush, then dropped. `close()` writes what is left.
 *
 * Nothing lost but the bad row (issue 13): values are made storable before they enter a batch (no NUL, no lone
 * surrogate: PostgreSQL text and jsonb refuse both); a batch the database refuses for its data (SQLSTATE classes 22,
 * 23 and 54) is split in halves and each half written again, down to the one row at fault, which is dropped and
 * counted (`reason="bad_row"`) and logged without its content. Each row's id is fixed when it is recorded and the
 * INSERT of a batch holding a retried row skips ids already stored, so a retried batch (its first attempt committed,
 * its answer lost) adds nothing twice: neither raw rows nor rollups, which the tables' triggers update from the rows
 * actually inserted, in the same statement (prisma/migrations/*_analytics_scale_issue18).
 *
 * The INSERT is one statement over `unnest()` of one array per column, on the pg pool, rather than Prisma's
 * `createMany`: measured with bench/analytics.ts, `createMany` cost about 250 µs of server CPU per row (half the
 * throughput of an MCP call), the array INSERT a few µs. Ids are UUIDv7 (time-ordered), like the schema's
 * `@default(uuid(7))` that Prisma would have generated.
 */
import { randomBytes } from "node:crypto";
import { context, ROOT_CONTEXT } from "@opentelemetry/api";
import { suppressTracing } from "@opentelemetry/core";
import type pg from "pg";
import type { Logger } from "../logger.ts";
import type { AnalyticsMetrics } from "./metrics.ts";

/** One AnalyticsRequest row (prisma/schema.prisma). */
export interface RequestRow {
  timestamp: Date;
  method: string;
  endpoint: string;
  statusCode: number;
  /** Milliseconds. */
  responseTime: number;
  clientId?: string | null;
  userId?: string | null;
  ipAddress?: string | null;
  userAgent?: string | null;
  oauthError?: string | null;
}

/** One AnalyticsSecurity row (prisma/schema.prisma). */
export interface SecurityRow {
  timestamp: Date;
  eventType: string;
  severity: string;
  clientId?: string | null;
  userId?: string | null;
  ipAddress?: string | null;
  userAgent?: string | null;
  details?: unknown;
}

type Table = "AnalyticsRequest" | "AnalyticsSecurity";

interface Pending<T> {
  /** UUIDv7 fixed when the row is recorded, so a retry inserts the same row (and ON CONFLICT skips it). */
  id: string;
  data: T;
  attempts: number;
}

export interface RecorderOptions {
  pool: pg.Pool;
  metrics: AnalyticsMetrics;
  log: Logger;
  /** Write at least this often (ms). */
  flushIntervalMs?: number;
  /** Write as soon as this many rows are waiting (default: one statement's worth, MAX_ROWS_PER_STATEMENT). */
  batchSize?: number;
  /** Rows kept in memory at most (both tables together); beyond it rows are dropped. */
  capacity?: number;
  /** A row whose write failed this many times is dropped. */
  maxAttempts?: number;
}

/** At most this many rows go into one INSERT (keeps statements and Prisma's parameter list bounded). */
const MAX_ROWS_PER_STATEMENT = 1_000;

export class AnalyticsRecorder {
  private requests: Pending<RequestRow>[] = [];
  private security: Pending<SecurityRow>[] = [];
  private flushing: Promise<void> | undefined;
  private flushScheduled = false;
  private closed = false;
  private lastFailureLogAt = 0;
  private readonly timer: NodeJS.Timeout;
  private readonly batchSize: number;
  private readonly capacity: number;
  private readonly maxAttempts: number;

  constructor(private readonly options: RecorderOptions) {
    this.batchSize = options.batchSize ?? MAX_ROWS_PER_STATEMENT;
    this.capacity = options.capacity ?? 20_000;
    this.maxAttempts = options.maxAttempts ?? 3;
    this.timer = setInterval(() => void this.flushOnce(), options.flushIntervalMs ?? 1_000).unref();
  }

  get size(): number {
    return this.requests.length + this.security.length;
  }

  recordRequest(row: RequestRow): void {
    this.push(this.requests, storableRequest(row), "AnalyticsRequest");
  }

  recordSecurity(row: SecurityRow): void {
    this.push(this.security, storableSecurity(row), "AnalyticsSecurity");
  }

  private push<T extends { timestamp: Date }>(buffer: Pending<T>[], data: T, table: Table): void {
    if (this.closed) {
      this.options.metrics.droppedRows.inc({ table, reason: "shutdown" });
      return;
    }
    if (this.size >= this.capacity) {
      this.options.metrics.droppedRows.inc({ table, reason: "buffer_full" });
      return;
    }
    buffer.push({ id: uuidv7(data.timestamp.getTime()), data, attempts: 0 });
    if (this.size >= this.batchSize && !this.flushScheduled && !this.flushing) {
      this.flushScheduled = true;
      // Out of the request's call stack, and out of its trace: analytics writes are not part of any request.
      context.with(ROOT_CONTEXT, () =>
        setImmediate(() => {
          this.flushScheduled = false;
          void this.flushOnce();
        }),
      );
    }
  }

  /**
   * Writes everything buffered when it is called (after the write in flight, if any). Stops early when a round
   * makes no progress (the database is refusing writes: those rows wait for their next attempt).
   */
  async flush(): Promise<void> {
    if (this.flushing) await this.flushing;
    const rounds = Math.ceil(this.capacity / MAX_ROWS_PER_STATEMENT) + 1;
    for (let round = 0; round < rounds && this.size > 0; round++) {
      const before = this.size;
      await this.flushOnce();
      if (this.size >= before) break;
    }
  }

  /** Writes one batch per table, unless a write is in flight (the timer and a full batch call this). */
  private flushOnce(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (this.size === 0) return Promise.resolve();
    this.flushing = context
      .with(suppressTracing(ROOT_CONTEXT), () => this.writeBatch())
      .finally(() => {
        this.flushing = undefined;
      });
    return this.flushing;
  }

  private async writeBatch(): Promise<void> {
    const requests = this.requests.splice(0, MAX_ROWS_PER_STATEMENT);
    const security = this.security.splice(0, MAX_ROWS_PER_STATEMENT);
    const { pool, metrics } = this.options;
    const stop = metrics.flushDuration.startTimer();
    await Promise.all([
      this.write("AnalyticsRequest", requests, this.requests, (rows) => pool.query(insertSql(INSERT_REQUESTS, rows), requestColumns(rows))),
      this.write("AnalyticsSecurity", security, this.security, (rows) => pool.query(insertSql(INSERT_SECURITY, rows), securityColumns(rows))),
    ]);
    stop();
  }

  private async write<T>(
    table: Table,
    batch: Pending<T>[],
    buffer: Pending<T>[],
    insert: (rows: Pending<T>[]) => Promise<unknown>,
  ): Promise<void> {
    if (batch.length === 0) return;
    const { metrics } = this.options;
    try {
      await insert(batch);
      metrics.writtenRows.inc({ table }, batch.length);
    } catch (error) {
      metrics.flushErrors.inc();
      if (isRowError(error)) {
        await this.isolate(table, batch, buffer, insert);
        return;
      }
      this.logFailure(error, table, batch.length);
      // Put the batch back in front (oldest first) while there is room and attempts remain; drop the rest.
      const retry: Pending<T>[] = [];
      for (const pending of batch) {
        pending.attempts += 1;
        if (pending.attempts < this.maxAttempts && !this.closed && this.size + retry.length < this.capacity) {
          retry.push(pending);
        } else {
          metrics.droppedRows.inc({ table, reason: "write_failed" });
        }
      }
      buffer.unshift(...retry);
    }
  }

  /**
   * Writes a batch the database refused for its data in halves, recursively, down to the rows at fault, which are
   * dropped. A half that fails for another reason (the database went away meanwhile) goes back to the buffer.
   */
  private async isolate<T>(table: Table, batch: Pending<T>[], buffer: Pending<T>[], insert: (rows: Pending<T>[]) => Promise<unknown>): Promise<void> {
    const { metrics, log } = this.options;
    if (batch.length === 1) {
      metrics.droppedRows.inc({ table, reason: "bad_row" });
      // Not the row itself: its content is what the database refused, and may be anyone's input.
      log.warn({ table, id: batch[0].id }, "analytics row refused by the database; dropped");
      return;
    }
    const middle = Math.ceil(batch.length / 2);
    for (const half of [batch.slice(0, middle), batch.slice(middle)]) {
      try {
        await insert(half);
        metrics.writtenRows.inc({ table }, half.length);
      } catch (error) {
        if (isRowError(error)) {
          await this.isolate(table, half, buffer, insert);
        } else {
          this.logFailure(error, table, half.length);
          for (const pending of half) pending.attempts += 1;
          buffer.unshift(...half.filter((p) => p.attempts < this.maxAttempts && !this.closed));
        }
      }
    }
  }

  /** One warning per 10 s at most while the database is down, not one per flush. */
  private logFailure(error: unknown, table: Table, rows: number): void {
    const now = Date.now();
    if (now - this.lastFailureLogAt < 10_000) return;
    this.lastFailureLogAt = now;
    this.options.log.warn({ err: error, table, rows }, "analytics write failed; rows will be retried, then dropped");
  }

  /** Stops the timer and writes what is buffered (one attempt per row: shutdown must not hang on a dead database). */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.closed = true;
    await this.flush();
    const left = { requests: this.requests.length, security: this.security.length };
    if (left.requests || left.security) {
      this.options.metrics.droppedRows.inc({ table: "AnalyticsRequest", reason: "shutdown" }, left.requests);
      this.options.metrics.droppedRows.inc({ table: "AnalyticsSecurity", reason: "shutdown" }, left.security);
      this.options.log.warn(left, "analytics rows lost at shutdown");
      this.requests = [];
      this.security = [];
    }
  }
}

/**
 * Whether the database refused a statement for the data it carried (SQLSTATE class 22 data exception, 23 integrity
 * constraint violation, 54 program limit exceeded, e.g. an index row too large), rather than for being unreachable.
 */
function isRowError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^(22|23|54)/.test(code);
}

/** ES2024's well-formed string methods (V8 11.1, Node 20), not yet in the ES2023 lib this project compiles against. */
type WellFormed = string & { isWellFormed(): boolean; toWellFormed(): string };

/**
 * Text PostgreSQL accepts: NUL (refused by `text` and `jsonb`) and lone surrogates become U+FFFD. Nearly every value
 * is already storable, and two native checks say so without copying it (about 1% of an MCP call's CPU when every
 * field went through a regular-expression replace).
 */
export function storableText(value: string): string {
  const text = value as WellFormed;
  if (text.isWellFormed() && !text.includes("\u0000")) return value;
  return (text.replaceAll("\u0000", "\uFFFD") as WellFormed).toWellFormed();
}

function storableOrNull(value: string | null | undefined): string | null {
  return value === null || value === undefined ? null : storableText(String(value));
}

/** A JSON value with every string and key made storable (jsonb refuses `\u0000` and unpaired surrogate escapes). */
export function storableJson(value: unknown): unknown {
  if (typeof value === "string") return storableText(value);
  if (Array.isArray(value)) return value.map(storableJson);
  if (value && typeof value === "object" && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [storableText(k), storableJson(v)]));
  }
  return value;
}

function storableRequest(row: RequestRow): RequestRow {
  return {
    ...row,
    method: storableText(row.method),
    endpoint: storableText(row.endpoint),
    responseTime: Number.isFinite(row.responseTime) ? row.responseTime : 0,
    clientId: storableOrNull(row.clientId),
    userId: storableOrNull(row.userId),
    ipAddress: storableOrNull(row.ipAddress),
    userAgent: storableOrNull(row.userAgent),
    oauthError: storableOrNull(row.oauthError),
  };
}

function storableSecurity(row: SecurityRow): SecurityRow {
  return {
    ...row,
    eventType: storableText(row.eventType),
    severity: storableText(row.severity),
    clientId: storableOrNull(row.clientId),
    userId: storableOrNull(row.userId),
    ipAddress: storableOrNull(row.ipAddress),
    userAgent: storableOrNull(row.userAgent),
    details: row.details === undefined || row.details === null ? row.details : storableJson(row.details),
  };
}

// Timestamps travel as ISO text and are stored as UTC `timestamp(3)`, Prisma's convention, whatever the session zone.
// A batch holding a row written before (`attempts` > 0: an attempt whose outcome is unknown) is inserted with
// ON CONFLICT DO NOTHING, which skips the rows an earlier attempt stored (and the rollup triggers, reading the rows
// actually inserted, skip them too). A batch of first attempts cannot meet its own ids (UUIDv7, fixed when recorded)
// and is inserted plainly: the speculative insertion ON CONFLICT needs costs about a fifth of a row's insert.
const INSERT_REQUESTS = `
  INSERT INTO "AnalyticsRequest"
    ("id", "timestamp", "method", "endpoint", "statusCode", "responseTime", "clientId", "userId", "ipAddress", "userAgent", "oauthError")
  SELECT id, ts AT TIME ZONE 'UTC', method, endpoint, status, duration, client, "user", ip, agent, error
    FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::int[], $6::float8[], $7::text[], $8::text[],
                $9::text[], $10::text[], $11::text[])
      AS t(id, ts, method, endpoint, status, duration, client, "user", ip, agent, error)`;

const INSERT_SECURITY = `
  INSERT INTO "AnalyticsSecurity"
    ("id", "timestamp", "eventType", "severity", "clientId", "userId", "ipAddress", "userAgent", "details")
  SELECT id, ts AT TIME ZONE 'UTC', type, severity, client, "user", ip, agent, details::jsonb
    FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[])
      AS t(id, ts, type, severity, client, "user", ip, agent, details)`;

/** The INSERT for `rows`: skipping ids already stored when any row has been attempted before (see above). */
function insertSql(sql: string, rows: Pending<unknown>[]): string {
  return rows.some((row) => row.attempts > 0) ? `${sql}\n  ON CONFLICT ("id", "timestamp") DO NOTHING` : sql;
}

function requestColumns(pending: Pending<RequestRow>[]): unknown[][] {
  const columns: unknown[][] = Array.from({ length: 11 }, () => new Array<unknown>(pending.length));
  pending.forEach(({ id, data: row }, i) => {
    columns[0][i] = id;
    columns[1][i] = row.timestamp.toISOString();
    columns[2][i] = row.method;
    columns[3][i] = row.endpoint;
    columns[4][i] = row.statusCode;
    columns[5][i] = row.responseTime;
    columns[6][i] = row.clientId ?? null;
    columns[7][i] = row.userId ?? null;
    columns[8][i] = row.ipAddress ?? null;
    columns[9][i] = row.userAgent ?? null;
    columns[10][i] = row.oauthError ?? null;
  });
  return columns;
}

function securityColumns(pending: Pending<SecurityRow>[]): unknown[][] {
  const columns: unknown[][] = Array.from({ length: 9 }, () => new Array<unknown>(pending.length));
  pending.forEach(({ id, data: row }, i) => {
    columns[0][i] = id;
    columns[1][i] = row.timestamp.toISOString();
    columns[2][i] = row.eventType;
    columns[3][i] = row.severity;
    columns[4][i] = row.clientId ?? null;
    columns[5][i] = row.userId ?? null;
    columns[6][i] = row.ipAddress ?? null;
    columns[7][i] = row.userAgent ?? null;
    columns[8][i] = row.details === undefined || row.details === null ? null : JSON.stringify(row.details);
  });
  return columns;
}

/** RFC 9562 §5.7 UUIDv7: 48-bit Unix milliseconds, version 7, variant 10, 74 random bits. */
export function uuidv7(unixMs = Date.now()): string {
  const bytes = randomSlice();
  bytes.writeUIntBE(Math.max(0, Math.trunc(unixMs)), 0, 6);
  bytes[6] = (bytes[6] & 0x0f) | 0x70;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * 16 fresh random bytes, cut from a pool filled 256 ids at a time: one `randomBytes` call per id cost about 1 % of
 * the server's CPU under MCP load (a profile of bench/mcp.ts), as Node's own `randomUUID` pools for the same reason.
 */
const RANDOM_POOL_BYTES = 16 * 256;
let randomPool = Buffer.alloc(0);
let randomOffset = 0;
function randomSlice(): Buffer {
  if (randomOffset + 16 > randomPool.length) {
    randomPool = randomBytes(RANDOM_POOL_BYTES);
    randomOffset = 0;
  }
  const slice = randomPool.subarray(randomOffset, randomOffset + 16);
  randomOffset += 16;
  return slice;
}
