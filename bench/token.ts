/**
 * Token endpoint throughput: POST /api/oauth/token for the authorization_code and refresh_token grants, through the
 * whole server (host, rate limiter, Remix resource route, client authentication, PKCE, the atomic claim or rotation
 * transaction, analytics). Every request spends its own code or refresh token, so they are prepared beforehand
 * (written straight to the database; preparing is not what is measured) and autocannon, in a child process so it
 * does not share the server's event loop, sends one prepared body per request.
 *
 *   npx tsx bench/token.ts            (needs `npx remix build` once)
 *
 * Each round sends a fixed number of requests (each needs its own prepared code or token) and reports the rate.
 *
 * Environment: BENCH_REQUESTS (5000 per round), BENCH_ROUNDS (3), BENCH_CONNECTIONS (16), BENCH_DATABASE_URL (else
 * TEST_DATABASE_URL, DATABASE_URL, postgresql://postgres@127.0.0.1:5432/postgres), BENCH_ENV (JSON of extra
 * server settings, e.g. '{"ANALYTICS_ENABLED":"false"}').
 */
import { randomBytes } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { SecretPrefix, randomSecret, sha256Hex } from "../server/crypto.ts";
import type { RunningServer } from "../server/http/server.ts";
import { s256 } from "../server/oauth/pkce.ts";
import { benchEnvOverrides, run, startBenchServer, UNLIMITED, withBenchDatabase } from "./lib.ts";

const PER_ROUND = Number(process.env.BENCH_REQUESTS ?? 5_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const REDIRECT_URI = "http://127.0.0.1:8976/callback";

interface Result {
  requests: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  non2xx: number;
  errors: number;
  cpuUs: number;
}

// ---- Child process: the load generator --------------------------------------------------------------------------

async function loadGenerator(file: string): Promise<void> {
  // autocannon ships no type declarations: describe the little used here.
  const moduleName = "autocannon";
  const { default: autocannon } = (await import(moduleName)) as {
    default: (options: Record<string, unknown>) => Promise<{
      requests: { total: number };
      duration: number;
      latency: { p50: number; p90: number; p99: number };
      non2xx: number;
      errors: number;
      timeouts: number;
    }>;
  };
  const { url, bodies, connections } = JSON.parse(readFileSync(file, "utf8")) as { url: string; bodies: string[]; connections: number };
  let next = 0;
  const result = await autocannon({
    url,
    connections,
    amount: bodies.length,
    timeout: 30,
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    requests: [
      {
        setupRequest: (request: Record<string, unknown>) => ({ ...request, body: bodies[next++ % bodies.length] }),
      },
    ],
  });
  process.stdout.write(
    JSON.stringify({
      requests: result.requests.total,
      rps: result.requests.total / (result.duration || 1),
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      non2xx: result.non2xx,
      errors: result.errors + result.timeouts,
    }),
  );
}

// ---- Parent: server, preparation, table -------------------------------------------------------------------------

function startOurs(databaseUrl: string): Promise<RunningServer> {
  return startBenchServer(
    databaseUrl,
    { RATE_LIMIT_TOKEN_PER_IP: UNLIMITED, RATE_LIMIT_TOKEN_PER_CLIENT: UNLIMITED, ...benchEnvOverrides() },
    process.env.BENCH_LOG_LEVEL ?? "info",
  );
}

interface Fixture {
  clientDbId: string;
  clientId: string;
  userId: string;
  verifier: string;
}

async function fixture(server: RunningServer): Promise<Fixture> {
  const { prisma } = server.services;
  const user = await prisma.user.create({ data: { email: `bench-${randomBytes(4).toString("hex")}@example.test` } });
  const clientId = randomSecret(SecretPrefix.clientId, 16);
  const client = await prisma.client.create({
    data: {
      clientId,
      name: "Token bench",
      redirectUris: [REDIRECT_URI],
      grantTypes: ["authorization_code", "refresh_token"],
      scope: "mcp:tools mcp:admin",
      tokenEndpointAuthMethod: "none",
    },
  });
  return { clientDbId: client.id, clientId, userId: user.id, verifier: randomBytes(32).toString("base64url") };
}

/** Authorization codes as the authorization endpoint stores them; returns one form body per code. */
async function prepareCodes(server: RunningServer, f: Fixture, count: number): Promise<string[]> {
  const { prisma, env } = server.services;
  const challenge = s256(f.verifier);
  const expiresAt = new Date(Date.now() + 600_000);
  const bodies: string[] = [];
  for (let start = 0; start < count; start += 5_000) {
    const rows = [];
    for (let i = start; i < Math.min(count, start + 5_000); i++) {
      const code = randomSecret(SecretPrefix.authorizationCode);
      rows.push({
        codeHash: sha256Hex(code),
        clientId: f.clientDbId,
        userId: f.userId,
        redirectUri: REDIRECT_URI,
        codeChallenge: challenge,
        scope: "mcp:tools",
        resource: `${env.APP_URL}/mcp`,
        expiresAt,
      });
      bodies.push(
        new URLSearchParams({ grant_type: "authorization_code", code, code_verifier: f.verifier, client_id: f.clientId, redirect_uri: REDIRECT_URI }).toString(),
      );
    }
    await prisma.authorizationCode.createMany({ data: rows });
  }
  return bodies;
}

/** One grant with one live refresh token each (each request rotates a different family). */
async function prepareRefreshTokens(server: RunningServer, f: Fixture, count: number): Promise<string[]> {
  const { prisma, env } = server.services;
  const bodies: string[] = [];
  const expiresAt = new Date(Date.now() + 86_400_000);
  for (let start = 0; start < count; start += 5_000) {
    const n = Math.min(count, start + 5_000) - start;
    const grantIds = Array.from({ length: n }, () => `bench${randomBytes(10).toString("hex")}`);
    await prisma.grant.createMany({
      data: grantIds.map((id) => ({ id, userId: f.userId, clientId: f.clientDbId, scope: "mcp:tools", resource: `${env.APP_URL}/mcp` })),
    });
    const rows = grantIds.map((grantId) => {
      const token = randomSecret(SecretPrefix.refreshToken);
      bodies.push(new URLSearchParams({ grant_type: "refresh_token", refresh_token: token, client_id: f.clientId }).toString());
      return { tokenHash: sha256Hex(token), grantId, clientId: f.clientDbId, userId: f.userId, scope: "mcp:tools", resource: `${env.APP_URL}/mcp`, expiresAt };
    });
    await prisma.refreshToken.createMany({ data: rows });
  }
  return bodies;
}

async function drive(url: string, bodies: string[]): Promise<Result> {
  const file = path.join(os.tmpdir(), `token-bench-${process.pid}-${randomBytes(4).toString("hex")}.json`);
  writeFileSync(file, JSON.stringify({ url, bodies, connections: CONNECTIONS }));
  try {
    const cpu = process.cpuUsage();
    const { stdout } = await run(process.execPath, ["--import", "tsx", path.resolve("bench/token.ts"), "--load", file], {
      maxBuffer: 16 * 1024 * 1024,
    });
    const used = process.cpuUsage(cpu);
    const result = JSON.parse(stdout) as Omit<Result, "cpuUs">;
    return { ...result, cpuUs: (used.user + used.system) / Math.max(1, result.requests) };
  } finally {
    rmSync(file, { force: true });
  }
}

async function main(): Promise<void> {
  await withBenchDatabase("mcp_bench_token", async (databaseUrl, onCleanup) => {
    const server = await startOurs(databaseUrl);
    onCleanup(() => server.close(2_000));
    const f = await fixture(server);
    const url = `${server.url}/api/oauth/token`;
    console.error(
      `Token endpoint benchmark: ${CONNECTIONS} connections, ${ROUNDS} rounds of ${PER_ROUND} requests per grant, ${os.cpus().length} CPUs, load average ${os.loadavg()[0].toFixed(1)}`,
    );

    // Warm-up: JIT, pools, Prisma.
    await drive(url, await prepareCodes(server, f, 1_000));
    await drive(url, await prepareRefreshTokens(server, f, 1_000));

    const rows: Array<{ name: string } & Result> = [];
    for (const [name, prepare] of [
      ["authorization_code", prepareCodes],
      ["refresh_token", prepareRefreshTokens],
    ] as const) {
      for (let round = 0; round < ROUNDS; round++) {
        const bodies = await prepare(server, f, PER_ROUND);
        const result = await drive(url, bodies);
        console.error(`  round ${round + 1}: ${name}: ${Math.round(result.rps)} req/s, p99 ${result.p99} ms, ${Math.round(result.cpuUs)} µs CPU/request`);
        if (result.non2xx > 0 || result.errors > 0) console.error(`    ${result.non2xx} non-2xx, ${result.errors} errors`);
        rows.push({ name, ...result });
      }
    }
    const best = (name: string) => rows.filter((r) => r.name === name).sort((a, b) => b.rps - a.rps)[0];
    const table = [
      "| grant_type | requests | requests/s | p50 ms | p90 ms | p99 ms | non-2xx | server CPU µs/request |",
      "|---|---:|---:|---:|---:|---:|---:|---:|",
      ...["authorization_code", "refresh_token"].map((name) => {
        const r = best(name);
        return `| ${name} | ${r.requests} | ${Math.round(r.rps)} | ${r.p50} | ${r.p90} | ${r.p99} | ${r.non2xx} | ${Math.round(r.cpuUs)} |`;
      }),
    ];
    console.log(table.join("\n"));
    console.log(
      `\n(best of ${ROUNDS} rounds per grant; every request redeems its own code or rotates its own refresh token; ` +
        `server CPU includes the host, Remix, logging and analytics; load average at the end ${os.loadavg()[0].toFixed(1)})`,
    );
  });
}

if (process.argv[2] === "--load") {
  await loadGenerator(process.argv[3]);
} else {
  await main();
}
