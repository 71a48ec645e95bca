/**
 * Token endpoint throughput, with an anchor: POST /api/oauth/token for the authorization_code and refresh_token
 * grants (and client_credentials once the server has it), POST /api/oauth/introspect for a confidential client and
 * an active token, all through the whole server (host, rate limiter, client authentication, PKCE, the atomic claim or
 * rotation, analytics), and node-oidc-provider's client_credentials grant (opaque tokens, in-memory adapter) in a
 * process of its own (bench/oidc-provider-anchor.mjs) as the yardstick, in the same run; beside it the same provider
 * with its tokens in PostgreSQL (a minimal adapter, the bench database), which pays for durable storage as we do.
 * Every request spends its own code or refresh token, so they are prepared beforehand (written straight to the
 * database; preparing is not what is measured) and autocannon, in a child process so it does not share the server's
 * event loop, sends one prepared body per request. Rows take turns round by round, so a busy machine weighs on all of them alike.
 *
 *   npx tsx bench/token.ts            (needs `npx remix build` once)
 *
 * Each round sends a fixed number of requests per row and reports the rate; the table shows each row's best round.
 * Server CPU per request is the serving process's user + system time (ours: this process; the anchor: its own,
 * read over IPC) divided by the requests; beside it, the CPU the local PostgreSQL processes and the load generator
 * spent per request, and the ceiling they set together: all the machine's CPU time divided by their sum.
 *
 * Environment: BENCH_REQUESTS (5000 per round), BENCH_ROUNDS (3), BENCH_CONNECTIONS (16), BENCH_ROWS (comma list of
 * row names, default all), BENCH_LIVE_GRANTS (live grants, each with an access and a refresh token, written before
 * the run; default 0), BENCH_DATABASE_URL (else TEST_DATABASE_URL, DATABASE_URL,
 * postgresql://postgres@127.0.0.1:5432/postgres), BENCH_ENV (JSON of extra server settings, e.g.
 * '{"ANALYTICS_ENABLED":"false"}').
 */
import { fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { SecretPrefix, randomSecret, sha256Hex } from "../server/crypto.ts";
import type { RunningServer } from "../server/http/server.ts";
import { hashClientSecret } from "../server/oauth/client-secrets.ts";
import { s256 } from "../server/oauth/pkce.ts";
import { grantHandlers } from "../server/oauth/token-endpoint.ts";
import { issueTokens } from "../server/oauth/tokens.ts";
import { benchEnvOverrides, postgresCpuMeter, run, startBenchServer, UNLIMITED, withBenchDatabase } from "./lib.ts";

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
  /** The kernel's share of cpuUs (system time: socket reads and writes, wake-ups). */
  systemUs: number;
  /** PostgreSQL's CPU per request (every `postgres` process of this machine; null when not local). */
  postgresUs: number | null;
  /** The load generator's own CPU per request. */
  loadUs: number;
}

// ---- Child process: the load generator --------------------------------------------------------------------------

interface AutocannonResult {
  requests: { total: number };
  latency: { p50: number; p90: number; p99: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}

async function loadGenerator(file: string): Promise<void> {
  // autocannon ships no type declarations: describe the little used here.
  const moduleName = "autocannon";
  const { default: autocannon } = (await import(moduleName)) as {
    default: (
      options: Record<string, unknown>,
      done: (error: Error | null, result: AutocannonResult) => void,
    ) => { on(event: "response", listener: () => void): void };
  };
  const { url, bodies, amount, connections } = JSON.parse(readFileSync(file, "utf8")) as {
    url: string;
    bodies: string[];
    amount: number;
    connections: number;
  };
  let next = 0;
  // The rate is from the first request to the last response, timed here: autocannon's own `duration`, and the moment
  // it reports, follow the whole ticks of its 1 s timer, so 3,000 requests read as 1, 2, 3 or 5 s (2,970, 1,493, 997
  // or 599 requests/s) whatever the real pace.
  const started = performance.now();
  const cpuAtStart = process.cpuUsage();
  let lastResponse = started;
  const result = await new Promise<AutocannonResult>((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        connections,
        amount,
        timeout: 30,
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        requests: [
          {
            setupRequest: (request: Record<string, unknown>) => ({ ...request, body: bodies[next++ % bodies.length] }),
          },
        ],
      },
      (error, finished) => (error ? reject(error) : resolve(finished)),
    );
    instance.on("response", () => (lastResponse = performance.now()));
  });
  const cpu = process.cpuUsage(cpuAtStart);
  process.stdout.write(
    JSON.stringify({
      requests: result.requests.total,
      rps: result.requests.total / ((lastResponse - started) / 1000),
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      non2xx: result.non2xx,
      errors: result.errors + result.timeouts,
      loadUs: (cpu.user + cpu.system) / Math.max(1, result.requests.total),
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

/**
 * Authorization codes as the authorization endpoint stores them, each approved by a different person (as when many
 * people sign in; one person's codes to one client all widen the same grant, so redeeming thousands of them a second
 * would queue on that one row); returns one form body per code.
 */
async function prepareCodes(server: RunningServer, f: Fixture, count: number): Promise<string[]> {
  const { prisma, env } = server.services;
  const challenge = s256(f.verifier);
  const expiresAt = new Date(Date.now() + 600_000);
  const bodies: string[] = [];
  for (let start = 0; start < count; start += 5_000) {
    const rows = [];
    const people = Array.from({ length: Math.min(count, start + 5_000) - start }, () => `bench${randomBytes(10).toString("hex")}`);
    await prisma.user.createMany({ data: people.map((id) => ({ id, email: `${id}@example.test` })) });
    for (let i = start; i < Math.min(count, start + 5_000); i++) {
      const code = randomSecret(SecretPrefix.authorizationCode);
      rows.push({
        codeHash: sha256Hex(code),
        clientId: f.clientDbId,
        userId: people[i - start],
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

/**
 * BENCH_LIVE_GRANTS (issue 18: grants at scale): `count` live grants of 10,000 people to 100 clients, each with a live
 * access and refresh token, written before the run as a busy deployment would hold them.
 */
async function fillLiveGrants(server: RunningServer, count: number): Promise<void> {
  // Not the server's pool: its 15 s query timeout is for requests, not for writing a million rows.
  const pool = new pg.Pool({ connectionString: server.services.db.pool.options.connectionString, max: 1 });
  const started = performance.now();
  await pool.query(`INSERT INTO "User" (id, email, "updatedAt") SELECT 'live-user-' || i, 'live-' || i || '@example.test', now() FROM generate_series(1, 10000) i`);
  await pool.query(`
    INSERT INTO "Client" (id, "clientId", name, "redirectUris", "grantTypes", scope, "tokenEndpointAuthMethod", "updatedAt")
    SELECT 'live-client-' || i, 'live-client-' || i, 'Live ' || i, ARRAY['http://127.0.0.1:1/cb'], ARRAY['authorization_code', 'refresh_token'], 'mcp:tools', 'none', now()
      FROM generate_series(1, 100) i`);
  const resource = `${server.services.env.APP_URL}/mcp`;
  for (let done = 0; done < count; done += 100_000) {
    const n = Math.min(100_000, count - done);
    await pool.query(
      `WITH g AS (
         INSERT INTO "Grant" (id, "userId", "clientId", scope, resource, "createdAt", "lastUsedAt")
         SELECT 'live-grant-' || ($1 + i), 'live-user-' || (1 + ($1 + i) % 10000), 'live-client-' || (1 + ($1 + i) % 100), 'mcp:tools', $3, now(), now()
           FROM generate_series(1, $2) i
         RETURNING id, "userId", "clientId"
       ), a AS (
         INSERT INTO "AccessToken" (id, "tokenHash", "grantId", "clientId", "userId", scope, resource, "expiresAt", "createdAt")
         SELECT 'live-at-' || id, encode(sha256(convert_to('at' || id, 'UTF8')), 'hex'), id, "clientId", "userId", 'mcp:tools', $3, now() + interval '1 hour', now() FROM g
       )
       INSERT INTO "RefreshToken" (id, "tokenHash", "grantId", "clientId", "userId", scope, resource, "expiresAt", "createdAt")
       SELECT 'live-rt-' || id, encode(sha256(convert_to('rt' || id, 'UTF8')), 'hex'), id, "clientId", "userId", 'mcp:tools', $3, now() + interval '30 days', now() FROM g`,
      [done, n, resource],
    );
  }
  for (const table of ["Grant", "AccessToken", "RefreshToken", "User", "Client"]) await pool.query(`VACUUM ANALYZE "${table}"`);
  await pool.end();
  console.error(`${count.toLocaleString("en")} live grants (with an access and a refresh token each) written in ${((performance.now() - started) / 1000).toFixed(0)} s`);
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

/** Server CPU time so far, µs. */
type CpuClock = () => Promise<{ user: number; system: number }>;

const ownCpu: CpuClock = () => Promise.resolve(process.cpuUsage());

/** `amount` POSTs to `url`, body i = bodies[i % bodies.length], from autocannon in a child process. */
async function drive(url: string, bodies: string[], amount: number, cpuClock: CpuClock = ownCpu): Promise<Result> {
  const file = path.join(os.tmpdir(), `token-bench-${process.pid}-${randomBytes(4).toString("hex")}.json`);
  writeFileSync(file, JSON.stringify({ url, bodies, amount, connections: CONNECTIONS }));
  try {
    const before = await cpuClock();
    const postgres = postgresCpuMeter();
    const { stdout } = await run(process.execPath, ["--import", "tsx", path.resolve("bench/token.ts"), "--load", file], {
      maxBuffer: 16 * 1024 * 1024,
    });
    const after = await cpuClock();
    const postgresUs = postgres.stop();
    const result = JSON.parse(stdout) as Omit<Result, "cpuUs" | "systemUs" | "postgresUs">;
    const n = Math.max(1, result.requests);
    return {
      ...result,
      cpuUs: (after.user - before.user + after.system - before.system) / n,
      systemUs: (after.system - before.system) / n,
      postgresUs: postgresUs === null ? null : postgresUs / n,
    };
  } finally {
    rmSync(file, { force: true });
  }
}

// ---- The anchor: node-oidc-provider in its own process -----------------------------------------------------------

interface Anchor {
  url: string;
  body: string;
  cpu: CpuClock;
  stop(): Promise<void>;
}

/** node-oidc-provider in a process of its own: tokens in memory, or in PostgreSQL at `databaseUrl`. */
async function startAnchor(databaseUrl?: string): Promise<Anchor> {
  const child = fork(path.resolve("bench/oidc-provider-anchor.mjs"), [], {
    stdio: ["ignore", "ignore", "pipe", "ipc"],
    env: { ...process.env, ANCHOR_DATABASE_URL: databaseUrl ?? "" },
  });
  // Its start-up warnings (Node version, development keys, in-memory adapter) are expected: kept for a failure only.
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const [ready] = (await Promise.race([
    once(child, "message"),
    once(child, "exit").then(() => {
      throw new Error(`the anchor exited at start:\n${stderr}`);
    }),
  ])) as [{ url: string; body: string }];
  const cpu: CpuClock = async () => {
    child.send("cpu");
    const [reply] = (await once(child, "message")) as [{ cpu: { user: number; system: number } }];
    return reply.cpu;
  };
  return {
    url: ready.url,
    body: ready.body,
    cpu,
    stop: async () => {
      child.send("stop");
      await once(child, "exit");
    },
  };
}

// ---- Our other rows' fixtures -------------------------------------------------------------------------------------

/** A confidential client (client_secret_post) and one active access token of it, for introspection. */
async function introspectionBody(server: RunningServer, f: Fixture): Promise<string> {
  const { prisma, env } = server.services;
  const clientId = randomSecret(SecretPrefix.clientId, 16);
  const secret = randomSecret(SecretPrefix.clientSecret);
  const client = await prisma.client.create({
    data: {
      clientId,
      clientSecretHash: hashClientSecret(secret),
      name: "Introspection bench",
      redirectUris: [REDIRECT_URI],
      grantTypes: ["authorization_code", "refresh_token"],
      scope: "mcp:tools",
      tokenEndpointAuthMethod: "client_secret_post",
    },
  });
  const resource = `${env.APP_URL}/mcp`;
  const grant = await prisma.grant.create({ data: { userId: f.userId, clientId: client.id, scope: "mcp:tools", resource } });
  const issued = await prisma.$transaction((tx) =>
    issueTokens(tx, env, { grantId: grant.id, clientDbId: client.id, userId: f.userId, scope: "mcp:tools", resource }),
  );
  return new URLSearchParams({ token: issued.response.access_token, client_id: clientId, client_secret: secret }).toString();
}

/** A confidential client registered for client_credentials (the machine-clients grant), when the server has it. */
async function clientCredentialsBody(server: RunningServer): Promise<string> {
  const { prisma, env } = server.services;
  const clientId = randomSecret(SecretPrefix.clientId, 16);
  const secret = randomSecret(SecretPrefix.clientSecret);
  await prisma.client.create({
    data: {
      clientId,
      clientSecretHash: hashClientSecret(secret),
      name: "Client credentials bench",
      redirectUris: [],
      grantTypes: ["client_credentials"],
      scope: "mcp:tools",
      tokenEndpointAuthMethod: "client_secret_post",
    },
  });
  return new URLSearchParams({
    grant_type: "client_credentials",
    client_id: clientId,
    client_secret: secret,
    scope: "mcp:tools",
    resource: `${env.APP_URL}/mcp`,
  }).toString();
}

interface Row {
  name: string;
  /** Skipped rows print this instead of figures. */
  skipped?: string;
  /** URL, request bodies (one per request, or one for all) and the serving process's CPU clock. */
  prepare?: () => Promise<{ url: string; bodies: string[]; cpu?: CpuClock }>;
}

async function main(): Promise<void> {
  const only = process.env.BENCH_ROWS?.split(",").map((name) => name.trim());
  await withBenchDatabase("mcp_bench_token", async (databaseUrl, onCleanup) => {
    const server = await startOurs(databaseUrl);
    onCleanup(() => server.close(2_000));
    const anchor = await startAnchor();
    onCleanup(() => anchor.stop());
    const durableAnchor = await startAnchor(databaseUrl);
    onCleanup(() => durableAnchor.stop());
    const f = await fixture(server);
    const liveGrants = Number(process.env.BENCH_LIVE_GRANTS ?? 0);
    if (liveGrants > 0) await fillLiveGrants(server, liveGrants);
    const tokenUrl = `${server.url}/api/oauth/token`;
    const loadAtStart = os.loadavg()[0];
    console.error(
      `Token endpoint benchmark: ${CONNECTIONS} connections, ${ROUNDS} rounds of ${PER_ROUND} requests per row, ${os.cpus().length} CPUs, load average ${loadAtStart.toFixed(1)}`,
    );

    const introspect = await introspectionBody(server, f);
    const hasClientCredentials = Object.hasOwn(grantHandlers, "client_credentials");
    const clientCredentials = hasClientCredentials ? await clientCredentialsBody(server) : "";
    const rows: Row[] = [
      { name: "ours: authorization_code", prepare: async () => ({ url: tokenUrl, bodies: await prepareCodes(server, f, PER_ROUND) }) },
      { name: "ours: refresh_token (rotation)", prepare: async () => ({ url: tokenUrl, bodies: await prepareRefreshTokens(server, f, PER_ROUND) }) },
      hasClientCredentials
        ? { name: "ours: client_credentials", prepare: () => Promise.resolve({ url: tokenUrl, bodies: [clientCredentials] }) }
        : { name: "ours: client_credentials", skipped: "not measured: this server has no client_credentials grant yet (machine-clients issue)" },
      {
        name: "ours: introspection (confidential client, active token)",
        prepare: () => Promise.resolve({ url: `${server.url}/api/oauth/introspect`, bodies: [introspect] }),
      },
      {
        name: "node-oidc-provider 9.13: client_credentials (opaque, PostgreSQL adapter)",
        prepare: () => Promise.resolve({ url: durableAnchor.url, bodies: [durableAnchor.body], cpu: durableAnchor.cpu }),
      },
      // The anchor of the × column: last.
      {
        name: "node-oidc-provider 9.13: client_credentials (opaque, in-memory)",
        prepare: () => Promise.resolve({ url: anchor.url, bodies: [anchor.body], cpu: anchor.cpu }),
      },
    ].filter((row) => !only || only.some((name) => row.name.includes(name)));

    // Warm-up: JIT, pools, caches, on both servers.
    await drive(tokenUrl, await prepareCodes(server, f, 1_000), 1_000);
    await drive(tokenUrl, await prepareRefreshTokens(server, f, 1_000), 1_000);
    await drive(`${server.url}/api/oauth/introspect`, [introspect], 1_000);
    if (hasClientCredentials) await drive(tokenUrl, [clientCredentials], 1_000);
    await drive(anchor.url, [anchor.body], 1_000, anchor.cpu);
    await drive(durableAnchor.url, [durableAnchor.body], 1_000, durableAnchor.cpu);

    const results: Array<{ name: string } & Result> = [];
    for (let round = 0; round < ROUNDS; round++) {
      for (const row of rows) {
        if (!row.prepare) continue;
        const { url, bodies, cpu } = await row.prepare();
        const result = await drive(url, bodies, PER_ROUND, cpu);
        console.error(
          `  round ${round + 1}: ${row.name}: ${Math.round(result.rps)} req/s, p99 ${result.p99} ms, ${Math.round(result.cpuUs)} µs CPU/request (${Math.round(result.systemUs)} system), Postgres ${result.postgresUs === null ? "?" : Math.round(result.postgresUs)} µs, load generator ${Math.round(result.loadUs)} µs, load ${os.loadavg()[0].toFixed(1)}`,
        );
        if (result.non2xx > 0 || result.errors > 0) console.error(`    ${result.non2xx} non-2xx, ${result.errors} errors`);
        results.push({ name: row.name, ...result });
      }
    }
    const best = (name: string) => results.filter((r) => r.name === name).sort((a, b) => b.rps - a.rps)[0];
    const anchorRow = best(rows.at(-1)!.name);
    const table = [
      "| row | requests | requests/s | × anchor | p50 ms | p90 ms | p99 ms | non-2xx | server CPU µs/request | of which system | Postgres CPU µs/request | load generator µs/request | CPU-bound ceiling, requests/s |",
      "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
      ...rows.map((row) => {
        if (row.skipped) return `| ${row.name} | — | — | — | — | — | — | — | ${row.skipped} | — | — | — | — |`;
        const r = best(row.name);
        const ratio = anchorRow ? (r.rps / anchorRow.rps).toFixed(2) : "—";
        const postgres = r.postgresUs === null ? "—" : Math.round(r.postgresUs);
        const ceiling = Math.round((os.cpus().length * 1_000_000) / (r.cpuUs + (r.postgresUs ?? 0) + r.loadUs));
        return `| ${row.name} | ${r.requests} | ${Math.round(r.rps)} | ${ratio} | ${r.p50} | ${r.p90} | ${r.p99} | ${r.non2xx} | ${Math.round(r.cpuUs)} | ${Math.round(r.systemUs)} | ${postgres} | ${Math.round(r.loadUs)} | ${ceiling} |`;
      }),
    ];
    console.log(table.join("\n"));
    console.log(
      `\n(best of ${ROUNDS} rounds per row, rows taking turns; ${CONNECTIONS} connections; every authorization_code request redeems ` +
        `its own code, every refresh_token request rotates its own token; our server CPU includes the host, logging and ` +
        `analytics; Postgres CPU is every local postgres process's, so it includes the analytics writes; the ceiling is ` +
        `${os.cpus().length} CPUs' worth of time divided by the server's, Postgres' and the load generator's CPU per request; load average ${loadAtStart.toFixed(1)} at the start, ${os.loadavg()[0].toFixed(1)} at the end, on ${os.cpus().length} CPUs)`,
    );
  });
}

if (process.argv[2] === "--load") {
  await loadGenerator(process.argv[3]);
} else {
  await main();
}
