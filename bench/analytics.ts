/**
 * The cost of recording analytics: the same authenticated MCP `tools/call` load against two servers in this process,
 * one with ANALYTICS_ENABLED=true (a row per request, batched writes, metrics) and one with ANALYTICS_ENABLED=false
 * (metrics only). Rounds come in pairs (on then off, off then on, …) so load from elsewhere hits both alike, and the
 * cost is the median of the per-pair ratios. autocannon runs in a child process so the load generator does not
 * share the servers' event loop. A second, steadier figure: the analytics path alone (subscriber + batched writer)
 * in CPU µs per request, from 100,000 synthetic `http.request` events, set against the server's CPU per request.
 * Target: analytics costs at most 5 % of throughput.
 *
 *   npx tsx bench/analytics.ts      (needs `npx remix build` once)
 *
 * Environment: BENCH_SECONDS (5 per round), BENCH_ROUNDS (6 pairs), BENCH_CONNECTIONS (16), BENCH_DATABASE_URL (else
 * TEST_DATABASE_URL, DATABASE_URL, postgresql://postgres@127.0.0.1:5432/postgres).
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import os from "node:os";
import nodePath from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import pino from "pino";
import { createMetrics } from "../server/analytics/metrics.ts";
import { AnalyticsRecorder } from "../server/analytics/recorder.ts";
import { subscribeAnalytics } from "../server/analytics/subscriber.ts";
import { migrate } from "../server/db/migrate.ts";
import { parseEnv } from "../server/env.ts";
import { DomainEventBus } from "../server/events.ts";
import { startServer, type RunningServer } from "../server/http/server.ts";
import { createLogger } from "../server/logger.ts";
import { mintAccessToken } from "../tests/helpers/tokens.ts";

const run = promisify(execFile);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const DB_SERVER =
  process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";

const CALL = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "whoami", arguments: {} } });

interface Round {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  total: number;
  /** Server CPU (user + system) per request, µs: steadier than requests/s on a shared machine. */
  cpuUs: number;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: DB_SERVER });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function start(databaseUrl: string, analytics: boolean): Promise<RunningServer> {
  const env = parseEnv({
    NODE_ENV: "production",
    AUTH_SECRET: randomBytes(32).toString("hex"),
    DATABASE_URL: databaseUrl,
    APP_URL: "http://127.0.0.1:1",
    ANALYTICS_ENABLED: String(analytics),
    // The limiter runs on every request without refusing any.
    RATE_LIMIT_MCP_PER_IP: "1000000000",
    RATE_LIMIT_MCP_PER_CLIENT: "1000000000",
  });
  // Real logging (one JSON line per request), written to /dev/null.
  const log = createLogger("info", { destination: pino.destination({ dest: "/dev/null", sync: false }) });
  return startServer(env, { log, port: 0, host: "127.0.0.1", migrate: false });
}

async function load(url: string, token: string, seconds: number): Promise<Round> {
  const args = ["-c", String(CONNECTIONS), "-d", String(seconds), "-m", "POST", "-b", CALL, "-j"];
  const headers = {
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    "mcp-protocol-version": "2025-11-25",
    authorization: `Bearer ${token}`,
  };
  for (const [key, value] of Object.entries(headers)) args.push("-H", `${key}=${value}`);
  const cpu = process.cpuUsage();
  const { stdout } = await run(nodePath.resolve("node_modules/.bin/autocannon"), [...args, url], { maxBuffer: 16 * 1024 * 1024 });
  const used = process.cpuUsage(cpu);
  const result = JSON.parse(stdout) as { requests: { average: number; total: number }; latency: { p50: number; p99: number }; non2xx: number };
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    total: result.requests.total,
    cpuUs: (used.user + used.system) / Math.max(1, result.requests.total),
  };
}

/**
 * CPU per request of the analytics path alone: an event bus, the subscriber and the writer on the server's pool, fed
 * synthetic `http.request` events (what the access log emits) in bursts, batched writes included, minus the same
 * with rows off (metrics only).
 */
async function analyticsPathCost(pool: pg.Pool): Promise<number> {
  const event = {
    method: "POST",
    route: "/mcp/mcp",
    status: 200,
    durationMs: 3.2,
    clientId: "mcpc_0123456789abcdef",
    userId: "cmww4jdoy0000ai7d2kjoluqp",
    ip: "203.0.113.9",
    userAgent: "mcp-remote/0.15.1 (node 20)",
    oauthError: null,
  };
  const measure = async (rows: boolean, n: number) => {
    const events = new DomainEventBus();
    const metrics = createMetrics({ pool, probeDatabase: async () => ({ up: true }), version: "bench", nodeDefaults: false });
    const recorder = rows ? new AnalyticsRecorder({ pool, metrics, log: createLogger("silent") }) : undefined;
    subscribeAnalytics({ events, metrics, recorder });
    const cpu = process.cpuUsage();
    // Bursts of 50 per event-loop turn: about what a busy server finishes between two turns.
    for (let sent = 0; sent < n; sent += 50) {
      for (let i = 0; i < 50; i++) events.emit("http.request", event);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await recorder?.close();
    const used = process.cpuUsage(cpu);
    return (used.user + used.system) / n;
  };
  await measure(true, 20_000); // warm-up
  await measure(false, 20_000);
  const costs: number[] = [];
  for (let i = 0; i < 3; i++) costs.push((await measure(true, 100_000)) - (await measure(false, 100_000)));
  return median(costs);
}

async function main(): Promise<void> {
  const dbName = `mcp_bench_analytics_${randomBytes(4).toString("hex")}`;
  await adminQuery(`CREATE DATABASE "${dbName}"`);
  const url = new URL(DB_SERVER);
  url.pathname = `/${dbName}`;
  const databaseUrl = url.toString();
  const cleanups: Array<() => Promise<void>> = [() => adminQuery(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`)];
  try {
    await migrate(databaseUrl);
    const on = await start(databaseUrl, true);
    cleanups.unshift(() => on.close(2_000));
    const off = await start(databaseUrl, false);
    cleanups.unshift(() => off.close(2_000));
    const minted = await mintAccessToken(on.services.prisma, on.services.env.APP_URL, { name: "Bench" });
    console.error(
      `analytics cost: MCP tools/call, ${CONNECTIONS} connections, ${ROUNDS} pairs of ${SECONDS} s rounds, ${os.cpus().length} CPUs, ` +
        `load average ${os.loadavg()[0].toFixed(1)}`,
    );

    const servers = { on, off };
    for (const server of [on, off]) await load(`${server.url}/mcp/mcp`, minted.token, 2); // warm-up: JIT, pools, token cache
    const pairs: Array<Record<"on" | "off", Round>> = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      const pair = {} as Record<"on" | "off", Round>;
      for (const key of round % 2 === 0 ? (["on", "off"] as const) : (["off", "on"] as const)) {
        pair[key] = await load(`${servers[key].url}/mcp/mcp`, minted.token, SECONDS);
      }
      pairs.push(pair);
      console.error(
        `  pair ${round + 1}: on ${Math.round(pair.on.rps)} req/s, ${Math.round(pair.on.cpuUs)} µs CPU/req; ` +
          `off ${Math.round(pair.off.rps)} req/s, ${Math.round(pair.off.cpuUs)} µs CPU/req`,
      );
    }
    await on.services.analytics.flush();
    const rows = await on.services.prisma.analyticsRequest.count();
    const requested = pairs.reduce((sum, p) => sum + p.on.total, 0);
    const dropped = (await on.services.analytics.metrics.droppedRows.get()).values.reduce((sum, v) => sum + v.value, 0);

    const summary = (["on", "off"] as const).map((key) => {
      const list = pairs.map((p) => p[key]);
      return {
        name: key === "on" ? "analytics on (rows + metrics)" : "analytics off (metrics only)",
        rps: median(list.map((r) => r.rps)),
        p50: median(list.map((r) => r.p50)),
        p99: median(list.map((r) => r.p99)),
        non2xx: list.reduce((sum, r) => sum + r.non2xx, 0),
        cpuUs: median(list.map((r) => r.cpuUs)),
      };
    });
    console.log(
      [
        "| server | requests/s (median) | p50 ms | p99 ms | non-2xx | CPU µs/request (median) |",
        "|---|---:|---:|---:|---:|---:|",
        ...summary.map((r) => `| ${r.name} | ${Math.round(r.rps)} | ${r.p50} | ${r.p99} | ${r.non2xx} | ${Math.round(r.cpuUs)} |`),
      ].join("\n"),
    );
    const rpsRatio = median(pairs.map((p) => p.on.rps / p.off.rps));
    const cpuRatio = median(pairs.map((p) => p.off.cpuUs / p.on.cpuUs));
    console.log(
      `\nanalytics on/off, median of ${pairs.length} pairs: ${rpsRatio.toFixed(3)} by requests/s (cost ${((1 - rpsRatio) * 100).toFixed(1)} %), ` +
        `${cpuRatio.toFixed(3)} by server CPU per request (cost ${((1 / cpuRatio - 1) * 100).toFixed(1)} %); target: cost <= 5 %`,
    );
    console.log(`rows written: ${rows} for ${requested} measured requests (+ warm-up), dropped: ${dropped}`);

    const pathCost = await analyticsPathCost(on.services.db.pool);
    const serverCpu = summary[1].cpuUs;
    console.log(
      `analytics path alone (subscriber + batched writer, 100,000 synthetic requests): ${pathCost.toFixed(2)} µs CPU/request, ` +
        `${((pathCost / serverCpu) * 100).toFixed(2)} % of a tools/call (${Math.round(serverCpu)} µs CPU with analytics off)`,
    );
  } finally {
    for (const cleanup of cleanups) await cleanup().catch(() => {});
  }
}

await main();
