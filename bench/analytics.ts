/**
 * The cost of recording analytics: the same authenticated MCP `tools/call` load against two servers in this process,
 * one with ANALYTICS_ENABLED=true (a row per request, batched writes, metrics) and one with ANALYTICS_ENABLED=false
 * (metrics only). Rounds come in pairs (on then off, off then on, …) so load from elsewhere hits both alike, and the
 * cost is the median of the per-pair ratios. autocannon runs in a child process so the load generator does not
 * share the servers' event loop. A second, steadier figure: the analytics path alone (subscriber + batched writer)
 * in CPU µs per request, from 100,000 synthetic `http.request` events, set against the server's CPU per request.
 * A third: the database time the rollup triggers (issue 18) add per row written, from batches with them on and off.
 * Target: analytics costs at most 5 % of throughput.
 *
 *   npx tsx bench/analytics.ts      (needs `npx remix build` once)
 *
 * Environment: BENCH_SECONDS (5 per round), BENCH_ROUNDS (6 pairs), BENCH_CONNECTIONS (16), BENCH_DATABASE_URL (else
 * TEST_DATABASE_URL, DATABASE_URL, postgresql://postgres@127.0.0.1:5432/postgres).
 */
import os from "node:os";
import type pg from "pg";
import { createMetrics } from "../server/analytics/metrics.ts";
import { AnalyticsRecorder } from "../server/analytics/recorder.ts";
import { subscribeAnalytics } from "../server/analytics/subscriber.ts";
import { DomainEventBus } from "../server/events.ts";
import type { RunningServer } from "../server/http/server.ts";
import { createLogger } from "../server/logger.ts";
import { mintAccessToken } from "../tests/helpers/tokens.ts";
import { median, postLoad, startBenchServer, UNLIMITED, withBenchDatabase, type LoadResult } from "./lib.ts";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);

const CALL = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "whoami", arguments: {} } });

type Round = Required<LoadResult>;

function start(databaseUrl: string, analytics: boolean): Promise<RunningServer> {
  return startBenchServer(databaseUrl, {
    ANALYTICS_ENABLED: String(analytics),
    RATE_LIMIT_MCP_PER_IP: UNLIMITED,
    RATE_LIMIT_MCP_PER_CLIENT: UNLIMITED,
  });
}

function load(url: string, token: string, seconds: number): Promise<Round> {
  const headers = {
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    "mcp-protocol-version": "2025-11-25",
    authorization: `Bearer ${token}`,
  };
  return postLoad(url, { body: CALL, headers, connections: CONNECTIONS, seconds }) as Promise<Round>;
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

/**
 * Database time the rollups add (issue 18): the writer's 1,000-row batch INSERT with the rollup triggers on and off
 * (ALTER TABLE … DISABLE TRIGGER, in this scratch database only), in alternating pairs, median wall time per batch.
 * Wall time, not CPU: the trigger runs in the Postgres backend, which this process cannot measure.
 */
async function rollupWriteCost(pool: pg.Pool): Promise<{ on: number; off: number }> {
  const metrics = createMetrics({ pool, probeDatabase: async () => ({ up: true }), version: "bench", nodeDefaults: false });
  const recorder = new AnalyticsRecorder({ pool, metrics, log: createLogger("silent"), flushIntervalMs: 600_000, batchSize: 1_000_000 });
  const batch = async () => {
    for (let i = 0; i < 1_000; i++) {
      recorder.recordRequest({
        timestamp: new Date(),
        method: "POST",
        endpoint: i % 10 ? "/mcp/mcp" : "/api/oauth/token",
        statusCode: i % 20 ? 200 : 401,
        responseTime: Math.random() * 20,
        clientId: `client-${i % 50}`,
        userId: `user-${i % 200}`,
        ipAddress: "203.0.113.9",
        userAgent: "bench",
      });
    }
    const started = performance.now();
    await recorder.flush();
    return performance.now() - started;
  };
  const triggers = (on: boolean) => pool.query(`ALTER TABLE "AnalyticsRequest" ${on ? "ENABLE" : "DISABLE"} TRIGGER "AnalyticsRequest_rollup_insert"`);
  const times = { on: [] as number[], off: [] as number[] };
  try {
    for (let i = 0; i < 3; i++) await batch(); // warm-up
    for (let pair = 0; pair < 12; pair++) {
      for (const on of pair % 2 ? [false, true] : [true, false]) {
        await triggers(on);
        times[on ? "on" : "off"].push(await batch());
      }
    }
  } finally {
    await triggers(true);
    await recorder.close();
  }
  return { on: median(times.on), off: median(times.off) };
}

async function main(): Promise<void> {
  await withBenchDatabase("mcp_bench_analytics", async (databaseUrl, onCleanup) => {
    const on = await start(databaseUrl, true);
    onCleanup(() => on.close(2_000));
    const off = await start(databaseUrl, false);
    onCleanup(() => off.close(2_000));
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
        `  pair ${round + 1}: ` +
          (["on", "off"] as const)
            .map((key) => {
              const r = pair[key];
              return `${key} ${Math.round(r.rps)} req/s, ${Math.round(r.cpuUs)} µs CPU/req (GC ${r.gcUs.toFixed(1)}, PostgreSQL ${r.postgresUs === null ? "?" : Math.round(r.postgresUs)})`;
            })
            .join("; "),
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
        gcUs: median(list.map((r) => r.gcUs)),
        postgresUs: list.every((r) => r.postgresUs !== null) ? median(list.map((r) => r.postgresUs!)) : null,
      };
    });
    console.log(
      [
        "| server | requests/s (median) | p50 ms | p99 ms | non-2xx | CPU µs/request (median) | of which GC pauses | PostgreSQL CPU µs/request |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        ...summary.map(
          (r) =>
            `| ${r.name} | ${Math.round(r.rps)} | ${r.p50} | ${r.p99} | ${r.non2xx} | ${Math.round(r.cpuUs)} | ${r.gcUs.toFixed(1)} | ${r.postgresUs === null ? "—" : Math.round(r.postgresUs)} |`,
        ),
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
    const rollups = await rollupWriteCost(on.services.db.pool);
    const perRow = ((rollups.on - rollups.off) * 1000) / 1_000;
    console.log(
      `rollup triggers (database side): a 1,000-row batch takes ${rollups.on.toFixed(1)} ms with them, ${rollups.off.toFixed(1)} ms without ` +
        `(median of 12 each): ${perRow.toFixed(1)} µs per row, ${((perRow / serverCpu) * 100).toFixed(2)} % of a tools/call's server CPU`,
    );
  });
}

await main();
