/**
 * MCP throughput, all rows in one run: our authenticated `tools/call` at both protocol generations against the SDK
 * serving the same tool with no authentication, rate limiting, logging or analytics:
 * - the v1 SDK (`@modelcontextprotocol/sdk` 1.32, 2025-11-25) tuned the fastest way it allows: one shared JSON Schema
 *   validator, a pool of idle McpServers, a fresh stateless transport per request, JSON responses (the anchor);
 * - the v2 SDK's own entry, `createMcpHandler`, with a fresh server per request as its documentation shows,
 *   answering 2026-07-28 requests;
 * - ours, authenticated (bearer check + per-client rate limit + analytics + access log), at 2025-11-25 and at
 *   2026-07-28, with the rate limits in memory, and at 2026-07-28 with them in Redis.
 * Every server runs in this process (its CPU per request is measured); autocannon drives them from a child process.
 * Also measures the bearer check on its own.
 *
 *   npx tsx bench/mcp.ts            (needs `npx remix build` once)
 *
 * Environment: BENCH_SECONDS (10 per round), BENCH_ROUNDS (5), BENCH_CONNECTIONS (32), BENCH_DATABASE_URL (else
 * TEST_DATABASE_URL, DATABASE_URL, postgresql://postgres@127.0.0.1:5432/postgres), BENCH_REDIS_URL (else
 * TEST_REDIS_URL, redis://127.0.0.1:6379; "off" skips the Redis rows), BENCH_ROWS (comma list of row keys to run:
 * v1,v2,ours-2025,ours-2026,ours-redis,ours-dpop). The DPoP row runs on the Redis server (jti single use in Redis)
 * and is compared with the Bearer row on that same server (issue 16: ≤ 1.3× its CPU per request).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import { McpServer as V1McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { WebStandardStreamableHTTPServerTransport as V1Transport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import { AjvJsonSchemaValidator as V1Validator } from "@modelcontextprotocol/sdk/validation/ajv";
import { createMcpHandler, McpServer } from "@modelcontextprotocol/server";
import { readBody, sendFetchResponse, toFetchHeaders } from "../server/http/fetch-adapter.ts";
import type { RunningServer } from "../server/http/server.ts";
import { SERVER_INFO } from "../server/mcp/server.ts";
import { whoami } from "../server/mcp/tools/whoami.ts";
import { mintAccessToken } from "../tests/helpers/tokens.ts";
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from "jose";
import { benchEnvOverrides, median, postLoad, run, startBenchServer, UNLIMITED, withBenchDatabase, type LoadResult } from "./lib.ts";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const REDIS_URL = process.env.BENCH_REDIS_URL ?? process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const ROWS = new Set((process.env.BENCH_ROWS ?? "v1,v2,ours-2025,ours-2026,ours-redis,ours-dpop").split(","));

/** The same `tools/call` at each wire. */
export const WIRE = {
  legacy: {
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "whoami", arguments: {} } }),
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25" },
  },
  modern: {
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: {
        name: "whoami",
        arguments: {},
        _meta: {
          "io.modelcontextprotocol/protocolVersion": "2026-07-28",
          "io.modelcontextprotocol/clientInfo": { name: "bench", version: "1.0.0" },
          "io.modelcontextprotocol/clientCapabilities": {},
        },
      },
    }),
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": "2026-07-28",
      "mcp-method": "tools/call",
      "mcp-name": "whoami",
    },
  },
} as const;

const IDENTITY = {
  user: { id: "u1", email: "bench@example.test", name: "Bench", role: "USER" },
  client: { clientId: "mcpc_bench", name: "Bench client" },
  scopes: ["mcp:tools"],
  resource: "http://127.0.0.1/mcp",
  tokenExpiresAt: new Date(Date.now() + 3600_000).toISOString(),
};
const RESULT = { content: [{ type: "text" as const, text: JSON.stringify(IDENTITY, null, 2) }], structuredContent: IDENTITY };
const TOOL = { title: whoami.title, description: whoami.description, inputSchema: whoami.inputSchema, annotations: whoami.annotations };

interface Row {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  /** Server CPU time (user + system) per request, µs: less sensitive to a busy machine than requests/s. */
  cpuUs: number;
  /** Median over rounds of this row's requests/s over the anchor's in the same round. */
  rpsRatio: number;
  /** Median over rounds of the anchor's CPU per request over this row's in the same round. */
  cpuRatio: number;
}

interface Target {
  name: string;
  url: string;
  body: string;
  headers: Record<string, string>;
  /** A load of its own (DPoP: a fresh proof per request); default the autocannon CLI with `body` and `headers`. */
  load?: (seconds: number) => Promise<LoadResult>;
}

/** A Node HTTP server that hands each request (URL, method, headers, parsed body) to `serve`. */
async function listen(serve: (request: Request, body: unknown) => Promise<Response>): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    void (async () => {
      const body = JSON.parse((await readBody(req, 1024 * 1024)).toString("utf8")) as unknown;
      const request = new Request(`http://127.0.0.1${req.url}`, { method: req.method, headers: toFetchHeaders(req.headers) });
      await sendFetchResponse(res, await serve(request, body));
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The v1 SDK, tuned: pooled McpServers, one validator, a fresh stateless transport per request, JSON responses. */
export function startTunedV1(): Promise<{ url: string; close(): Promise<void> }> {
  const validator = new V1Validator();
  const idle: V1McpServer[] = [];
  const build = () => {
    const server = new V1McpServer(SERVER_INFO, { capabilities: { tools: { listChanged: false } }, jsonSchemaValidator: validator });
    server.registerTool(whoami.name, TOOL, async () => RESULT);
    return server;
  };
  return listen(async (request, body) => {
    const server = idle.pop() ?? build();
    const transport = new V1Transport({ enableJsonResponse: true });
    await server.connect(transport);
    const response = await transport.handleRequest(request, { parsedBody: body });
    await server.close();
    idle.push(server);
    return response;
  });
}

/** The v2 SDK's documented entry: `createMcpHandler` with a fresh McpServer per request. */
export function startV2Handler(): Promise<{ url: string; close(): Promise<void> }> {
  const handler = createMcpHandler(() => {
    const server = new McpServer(SERVER_INFO, { capabilities: { tools: { listChanged: false } } });
    server.registerTool(whoami.name, TOOL, async () => RESULT);
    return server;
  });
  return listen((request, body) => handler.fetch(request, { parsedBody: body }));
}

/**
 * The same call with a DPoP-bound token (RFC 9449 §7): each request carries a fresh proof, signed beforehand in the
 * load generator's own process (bench/dpop-load.mjs), so only the server's checking is in this process's CPU.
 */
async function dpopTarget(server: RunningServer, name: string): Promise<Target> {
  const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const minted = await mintAccessToken(server.services.prisma, server.services.env.APP_URL, { name: "Bench", dpopJkt: await calculateJwkThumbprint(publicJwk) });
  const url = `${server.url}/mcp/mcp`;
  const options = {
    url,
    htu: `${server.services.env.APP_URL}/mcp/mcp`,
    token: minted.token,
    privateJwk: await exportJWK(privateKey),
    publicJwk,
    alg: "ES256",
    body: WIRE.modern.body,
    headers: WIRE.modern.headers,
    connections: CONNECTIONS,
  };
  return {
    name,
    url,
    body: WIRE.modern.body,
    headers: WIRE.modern.headers,
    async load(seconds) {
      const cpu = process.cpuUsage();
      const { stdout } = await run(process.execPath, ["bench/dpop-load.mjs", JSON.stringify({ ...options, seconds, expectedRps: 6000 })], { maxBuffer: 64 * 1024 * 1024 });
      const used = process.cpuUsage(cpu);
      const result = JSON.parse(stdout) as { requests: { average: number; total: number }; latency: { p50: number; p99: number }; non2xx: number; duration: number };
      return {
        rps: result.requests.total / result.duration,
        p50: result.latency.p50,
        p99: result.latency.p99,
        non2xx: result.non2xx,
        total: result.requests.total,
        cpuUs: (used.user + used.system) / Math.max(1, result.requests.total),
      };
    },
  };
}

/** Our server with limits far above the load (the limiter runs on every request without refusing any). */
function startOurs(databaseUrl: string, extra: Record<string, string>): Promise<RunningServer> {
  const settings = { RATE_LIMIT_MCP_PER_IP: UNLIMITED, RATE_LIMIT_MCP_PER_CLIENT: UNLIMITED, ...extra, ...benchEnvOverrides() };
  return startBenchServer(databaseUrl, settings, process.env.BENCH_LOG_LEVEL ?? "info");
}

/**
 * Interleaved rounds (every row, then the next round in a rotated order) so that load from other processes hits
 * every row alike. Each row reports its median round (by requests/s) and its median CPU; the ratios are the medians
 * of the per-round ratios to the anchor (the first target) measured in the same round.
 */
async function measureAll(targets: Target[]): Promise<Row[]> {
  const load = (t: Target, seconds: number) => t.load?.(seconds) ?? postLoad(t.url, { body: t.body, headers: t.headers, connections: CONNECTIONS, seconds });
  for (const target of targets) {
    const warm = await load(target, 2); // warm-up: JIT, pools, caches
    if (warm.non2xx > 0) throw new Error(`${target.name}: ${warm.non2xx} non-2xx answers in the warm-up`);
  }
  const rounds = new Map<string, Awaited<ReturnType<typeof load>>[]>(targets.map((t) => [t.name, []]));
  for (let round = 0; round < ROUNDS; round += 1) {
    const order = targets.map((_, i) => targets[(i + round) % targets.length]!);
    for (const target of order) {
      const result = await load(target, SECONDS);
      rounds.get(target.name)!.push(result);
      console.error(`  round ${round + 1}: ${target.name}: ${Math.round(result.rps)} req/s, ${Math.round(result.cpuUs)} µs CPU/request`);
    }
  }
  const anchor = rounds.get(targets[0]!.name)!;
  return targets.map((t) => {
    const own = rounds.get(t.name)!;
    const byRps = [...own].sort((a, b) => a.rps - b.rps);
    return {
      name: t.name,
      ...byRps[Math.floor(byRps.length / 2)]!,
      cpuUs: median(own.map((r) => r.cpuUs)),
      rpsRatio: median(own.map((r, i) => r.rps / anchor[i]!.rps)),
      cpuRatio: median(own.map((r, i) => anchor[i]!.cpuUs / r.cpuUs)),
    };
  });
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function bearerCost(server: RunningServer, token: string): Promise<{ cachedP50: number; cachedP99: number; uncachedP50: number }> {
  const { bearer } = server.services.mcp;
  const request = {
    authorization: `Bearer ${token}`,
    url: "http://127.0.0.1/mcp/mcp",
    endpoint: "mcp" as const,
    requiredScopes: ["mcp:tools"],
    origin: { ip: "127.0.0.1" },
  };
  const time = async (n: number, before?: () => void) => {
    const samples: number[] = [];
    for (let i = 0; i < n; i += 1) {
      before?.();
      const start = process.hrtime.bigint();
      const result = await bearer.authenticate(request);
      samples.push(Number(process.hrtime.bigint() - start) / 1e6);
      if (!result.ok) throw new Error("bench token refused");
    }
    return samples.sort((a, b) => a - b);
  };
  await time(2_000);
  const cached = await time(50_000);
  const uncached = await time(500, () => bearer.cache.clear());
  return { cachedP50: quantile(cached, 0.5), cachedP99: quantile(cached, 0.99), uncachedP50: quantile(uncached, 0.5) };
}

async function main(): Promise<void> {
  await withBenchDatabase("mcp_bench", async (databaseUrl, onCleanup) => {
    console.error(
      `MCP tools/call benchmark: ${CONNECTIONS} connections, ${ROUNDS} rounds of ${SECONDS} s per row, ${(await import("node:os")).cpus().length} CPUs`,
    );
    const targets: Target[] = [];
    const v1 = await startTunedV1();
    onCleanup(v1.close);
    targets.push({ name: "v1 SDK 1.32, tuned (no auth), 2025-11-25", url: v1.url, ...WIRE.legacy });
    if (ROWS.has("v2")) {
      const v2 = await startV2Handler();
      onCleanup(v2.close);
      targets.push({ name: "v2 SDK 2.4 createMcpHandler (no auth), 2026-07-28", url: v2.url, ...WIRE.modern });
    }

    const ours = await startOurs(databaseUrl, {});
    onCleanup(() => ours.close(2_000));
    const minted = await mintAccessToken(ours.services.prisma, ours.services.env.APP_URL, { name: "Bench" });
    const bearer = { authorization: `Bearer ${minted.token}` };
    if (ROWS.has("ours-2025")) {
      targets.push({ name: "ours, authenticated, 2025-11-25", url: `${ours.url}/mcp/mcp`, body: WIRE.legacy.body, headers: { ...WIRE.legacy.headers, ...bearer } });
    }
    if (ROWS.has("ours-2026")) {
      targets.push({ name: "ours, authenticated, 2026-07-28", url: `${ours.url}/mcp/mcp`, body: WIRE.modern.body, headers: { ...WIRE.modern.headers, ...bearer } });
    }
    if (ROWS.has("ours-redis") && REDIS_URL !== "off") {
      const withRedis = await startOurs(databaseUrl, { REDIS_URL, REDIS_KEY_PREFIX: `bench:${new URL(databaseUrl).pathname.slice(1)}:` });
      onCleanup(() => withRedis.close(2_000));
      if (await withRedis.services.redis?.waitUntilReady()) {
        targets.push({
          name: "ours, authenticated, 2026-07-28, limits in Redis",
          url: `${withRedis.url}/mcp/mcp`,
          body: WIRE.modern.body,
          headers: { ...WIRE.modern.headers, ...bearer },
        });
        if (ROWS.has("ours-dpop")) targets.push(await dpopTarget(withRedis, "ours, DPoP-bound token + proof, 2026-07-28, Redis"));
      }
    }
    const rows = await measureAll(targets);
    const cost = await bearerCost(ours, minted.token);
    const v2Row = rows.find((r) => r.name.startsWith("v2 "));
    const table = [
      "| server | requests/s | p50 ms | p99 ms | non-2xx | CPU µs/request | vs v1 tuned (req/s) | vs v1 tuned (CPU) |" + (v2Row ? " vs v2 handler (CPU) |" : ""),
      "|---|---:|---:|---:|---:|---:|---:|---:|" + (v2Row ? "---:|" : ""),
      ...rows.map(
        (r) =>
          `| ${r.name} | ${Math.round(r.rps)} | ${r.p50} | ${r.p99} | ${r.non2xx} | ${Math.round(r.cpuUs)} | ` +
          `${r.rpsRatio.toFixed(2)} | ${r.cpuRatio.toFixed(2)} |` +
          (v2Row ? ` ${(v2Row.cpuUs / r.cpuUs).toFixed(2)} |` : ""),
      ),
    ];
    console.log(table.join("\n"));
    console.log(
      `\nbearer check (in-process, cached token): p50 ${(cost.cachedP50 * 1000).toFixed(1)} µs, p99 ${(cost.cachedP99 * 1000).toFixed(1)} µs` +
        ` (target p50 <= 300 µs); cache miss (Postgres lookup): p50 ${cost.uncachedP50.toFixed(2)} ms`,
    );
    console.log("targets: ours >= 1.0x the tuned v1 row and >= 1.5x the v2 handler row; p99 <= 20 ms at 32 connections");
    const redisRow = rows.find((r) => r.name.includes("limits in Redis"));
    const dpopRow = rows.find((r) => r.name.includes("DPoP"));
    if (redisRow && dpopRow) {
      console.log(`DPoP: ${(dpopRow.cpuUs / redisRow.cpuUs).toFixed(2)}x the Bearer row's CPU per request on the same server (target <= 1.3)`);
    }
  });
}

// Run when executed (not when a profiling script imports the servers).
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main();
