/**
 * What the benchmarks share: the PostgreSQL server they use, a fresh migrated database per run (dropped after), our
 * server started as in production (real JSON logging, to /dev/null), autocannon in a child process (so the load
 * generator does not share the server's event loop) with the server's CPU per request, and a median.
 *
 * Environment: BENCH_DATABASE_URL (else TEST_DATABASE_URL, DATABASE_URL, postgresql://postgres@127.0.0.1:5432/postgres),
 * BENCH_ENV (JSON of extra server settings, e.g. '{"ANALYTICS_ENABLED":"false"}', for benchmarks that accept it).
 */
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { PerformanceObserver } from "node:perf_hooks";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { migrate } from "../server/db/migrate.ts";
import { parseEnv } from "../server/env.ts";
import { startServer, type RunningServer } from "../server/http/server.ts";
import { createLogger, stdoutDestination } from "../server/logger.ts";

export const run = promisify(execFile);

export const DB_SERVER =
  process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";

/** Limits far above any load: the limiter runs on every request without refusing one. */
export const UNLIMITED = "1000000000";

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: DB_SERVER });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** The URL of the database `name` on DB_SERVER. */
function databaseUrl(name: string): string {
  const url = new URL(DB_SERVER);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * Runs `fn` with a fresh migrated database `<prefix>_<random>` on DB_SERVER. Steps registered with `onCleanup` run
 * afterwards, last registered first (servers before the database), then the database is dropped.
 */
export async function withBenchDatabase(
  prefix: string,
  fn: (databaseUrl: string, onCleanup: (step: () => Promise<void>) => void) => Promise<void>,
): Promise<void> {
  const name = `${prefix}_${randomBytes(4).toString("hex")}`;
  await adminQuery(`CREATE DATABASE "${name}"`);
  const url = databaseUrl(name);
  const cleanups: Array<() => Promise<void>> = [() => adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)];
  try {
    await migrate(url);
    await fn(url, (step) => cleanups.unshift(step));
  } finally {
    for (const cleanup of cleanups) await cleanup().catch(() => {});
  }
}

/**
 * Runs `fn` with the database `name` on DB_SERVER, created and migrated if missing and kept afterwards: for benchmarks
 * whose data takes long to make (BENCH_SCRATCH_DB), so a later run can time against it again. Drop it by hand.
 */
export async function withKeptDatabase(name: string, fn: (databaseUrl: string) => Promise<void>): Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`BENCH_SCRATCH_DB must be a plain lower-case name, not ${name}`);
  await adminQuery(`CREATE DATABASE "${name}"`).catch((error: { code?: string }) => {
    if (error.code !== "42P04") throw error; // duplicate_database: kept from an earlier run
  });
  const url = databaseUrl(name);
  await migrate(url);
  await fn(url);
}

/** BENCH_ENV: extra server settings for experiments. */
export function benchEnvOverrides(): Record<string, string> {
  return JSON.parse(process.env.BENCH_ENV ?? "{}") as Record<string, string>;
}

/** Our server as in production, on a free port of 127.0.0.1, against an already migrated database. */
export function startBenchServer(databaseUrl: string, settings: Record<string, string> = {}, logLevel = "info"): Promise<RunningServer> {
  const env = parseEnv({
    NODE_ENV: "production",
    AUTH_SECRET: randomBytes(32).toString("hex"),
    DATABASE_URL: databaseUrl,
    APP_URL: "http://127.0.0.1:1",
    ...settings,
  });
  // Real logging (one JSON line per request, the production stdout batching), written to /dev/null.
  const log = createLogger(logLevel, { destination: stdoutDestination("/dev/null") });
  return startServer(env, { log, port: 0, host: "127.0.0.1", migrate: false });
}

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  total: number;
  /** Server CPU (user + system) per request, µs: steadier than requests/s on a shared machine. */
  cpuUs: number;
  /** The local PostgreSQL processes' CPU per request, µs (null when not local: localPostgresCpuUs). */
  postgresUs?: number | null;
  /** This process's garbage-collection pauses per request, µs (PerformanceObserver "gc" entries). */
  gcUs?: number;
}

/**
 * `seconds` of POSTs of `body` to `url` from the autocannon CLI in a child process. The CPU counted is this
 * process's, so the server under test must run in it.
 */
export async function postLoad(
  url: string,
  options: { body: string; headers: Record<string, string>; connections: number; seconds: number },
): Promise<LoadResult> {
  const args = ["-c", String(options.connections), "-d", String(options.seconds), "-m", "POST", "-b", options.body, "-j"];
  for (const [key, value] of Object.entries(options.headers)) args.push("-H", `${key}=${value}`);
  let gcMs = 0;
  const gc = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcMs += entry.duration;
  });
  gc.observe({ entryTypes: ["gc"] });
  const postgres = postgresCpuMeter();
  const cpu = process.cpuUsage();
  const { stdout } = await run(path.resolve("node_modules/.bin/autocannon"), [...args, url], { maxBuffer: 16 * 1024 * 1024 });
  const used = process.cpuUsage(cpu);
  const postgresUs = postgres.stop();
  for (const entry of gc.takeRecords()) gcMs += entry.duration;
  gc.disconnect();
  const result = JSON.parse(stdout) as { requests: { average: number; total: number }; latency: { p50: number; p99: number }; non2xx: number };
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    total: result.requests.total,
    cpuUs: (used.user + used.system) / Math.max(1, result.requests.total),
    postgresUs: postgresUs === null ? null : postgresUs / Math.max(1, result.requests.total),
    gcUs: (gcMs * 1000) / Math.max(1, result.requests.total),
  };
}

/** USER_HZ: Linux reports process times in these ticks, 100 on every common configuration (`getconf CLK_TCK`). */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * Starts counting the CPU time of this machine's PostgreSQL processes (localPostgresCpuUs); `stop()` gives the µs
 * spent since, or null when there are none to read.
 */
export function postgresCpuMeter(): { stop(): number | null } {
  const before = localPostgresCpuUs();
  return {
    stop() {
      const after = localPostgresCpuUs();
      return before === null || after === null ? null : after - before;
    },
  };
}

/**
 * CPU time (µs, user + system) spent so far by the PostgreSQL processes of this machine (every process named
 * `postgres`: the backends serving the benchmark, the WAL writer, the checkpointer), from /proc; null where there is
 * none to read (another OS, a remote database). A backend that exits between two readings takes its time with it, so
 * this is a lower bound when connections come and go; the servers' pools keep theirs.
 */
function localPostgresCpuUs(): number | null {
  let total = 0;
  let found = false;
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return null;
  }
  const tick = 1_000_000 / CLOCK_TICKS_PER_SECOND;
  for (const pid of entries) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      if (stat.slice(stat.indexOf("(") + 1, close) !== "postgres") continue;
      // Fields after the command: state is field 3, utime 14 and stime 15 (proc(5)).
      const fields = stat.slice(close + 2).split(" ");
      total += (Number(fields[11]) + Number(fields[12])) * tick;
      found = true;
    } catch {
      // gone between the listing and the read
    }
  }
  return found ? total : null;
}

