/**
 * The cost of recording analytics: the same authenticated MCP `tools/call` load against two servers in this process,
 * one with ANALYTICS_ENABLED=true (a row per request, batched writes, metrics) and one with ANALYTICS_ENABLED=false
 * (metrics only). Rounds are interleaved (on, off, on, off, …) so load from elsewhere hits both alike; each row
 * reports its median round. autocannon runs in a child process so the load generator does not share the servers'
 * event loop. Target: analytics costs at most 5 % of throughput.
 *
 *   npx tsx bench/analytics.ts      (needs `npx remix build` once)
 *
 * Environment: BENCH_SECONDS (10 per round), BENCH_ROUNDS (3), BENCH_CONNECTIONS (16), BENCH_DATABASE_URL (else
 * TEST_DATABASE_URL, DATABASE_URL, postgresql://postgres@127.0.0.1:5432/postgres).
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import pino from "pino";
import { migrate } from "../server/db/migrate.ts";
import { parseEnv } from "../server/env.ts";
import { startServer, type RunningServer } from "../server/http/server.ts";
import { createLogger } from "../server/logger.ts";
import { mintAccessToken } from "../tests/helpers/tokens.ts";

const run = promisify(execFile);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
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
  const { stdout } = await run(path.resolve("node_modules/.bin/autocannon"), [...args, url], { maxBuffer: 16 * 1024 * 1024 });
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

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

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
    console.error(`analytics cost: MCP tools/call, ${CONNECTIONS} connections, ${ROUNDS} rounds of ${SECONDS} s per server, ${os.cpus().length} CPUs`);

    const targets = [
      { name: "analytics on (rows + metrics)", server: on },
      { name: "analytics off (metrics only)", server: off },
    ];
    for (const t of targets) await load(`${t.server.url}/mcp/mcp`, minted.token, 2); // warm-up: JIT, pools, token cache
    const rounds = new Map<string, Round[]>(targets.map((t) => [t.name, []]));
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const t of round % 2 === 0 ? targets : [...targets].reverse()) {
        const result = await load(`${t.server.url}/mcp/mcp`, minted.token, SECONDS);
        rounds.get(t.name)!.push(result);
        console.error(`  round ${round + 1}: ${t.name}: ${Math.round(result.rps)} req/s, ${Math.round(result.cpuUs)} µs CPU/request`);
      }
    }
    await on.services.analytics.flush();
    const rows = await on.services.prisma.analyticsRequest.count();
    const requested = rounds.get(targets[0].name)!.reduce((sum, r) => sum + r.total, 0);
    const dropped = (await on.services.analytics.metrics.droppedRows.get()).values.reduce((sum, v) => sum + v.value, 0);

    const summary = targets.map((t) => {
      const list = rounds.get(t.name)!;
      const byRps = [...list].sort((a, b) => a.rps - b.rps)[Math.floor(list.length / 2)];
      return { name: t.name, ...byRps, cpuUs: median(list.map((r) => r.cpuUs)) };
    });
    const [withRows, without] = summary;
    console.log(
      [
        "| server | requests/s | p50 ms | p99 ms | non-2xx | CPU µs/request |",
        "|---|---:|---:|---:|---:|---:|",
        ...summary.map((r) => `| ${r.name} | ${Math.round(r.rps)} | ${r.p50} | ${r.p99} | ${r.non2xx} | ${Math.round(r.cpuUs)} |`),
      ].join("\n"),
    );
    const throughputCost = 1 - withRows.rps / without.rps;
    const cpuCost = withRows.cpuUs / without.cpuUs - 1;
    console.log(
      `\nanalytics on/off: ${(withRows.rps / without.rps).toFixed(3)} by requests/s (cost ${(throughputCost * 100).toFixed(1)} %), ` +
        `${(without.cpuUs / withRows.cpuUs).toFixed(3)} by server CPU per request (cost ${(cpuCost * 100).toFixed(1)} %); target: cost <= 5 %`,
    );
    console.log(`rows written: ${rows} of ${requested} requests measured (+ warm-up), dropped: ${dropped}`);
  } finally {
    for (const cleanup of cleanups) await cleanup().catch(() => {});
  }
}

await main();
