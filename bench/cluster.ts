/**
 * Several nodes: requests/s of an authenticated MCP `tools/call` through HAProxy to three nodes against one node
 * (and, as the anchor, one node without the balancer), all measured in the same run in alternating rounds; then the
 * revocation delay (a token revoked on one node, refused on the two others). The nodes are built servers in their
 * own processes (tests/helpers/cluster.ts), on one database and one Redis.
 *
 *   npm run build && npx tsx bench/cluster.ts
 *
 * On a machine with fewer cores than nodes + balancer + load generator, three nodes cannot beat one: the figure to
 * read there is the CPU per request (all node processes together), which shows what a node costs, not the cores.
 *
 * Environment: BENCH_SECONDS (8 per round), BENCH_ROUNDS (3), BENCH_CONNECTIONS (32), BENCH_DATABASE_URL (see
 * bench/lib.ts), BENCH_REDIS_URL (else TEST_REDIS_URL, redis://127.0.0.1:6379).
 */
import { readFileSync } from "node:fs";
import os from "node:os";
import { createDatabase } from "../server/db/client.ts";
import { startCluster, type Cluster } from "../tests/helpers/cluster.ts";
import { mintAccessToken } from "../tests/helpers/tokens.ts";
import { median, postLoad, UNLIMITED, withBenchDatabase } from "./lib.ts";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const REDIS_URL = process.env.BENCH_REDIS_URL ?? process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const REVOCATIONS = 20;

const BODY = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "whoami", arguments: {} } });
const HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25" };

const UNLIMITED_ENV = {
  RATE_LIMIT_MCP_PER_IP: UNLIMITED,
  RATE_LIMIT_MCP_PER_CLIENT: UNLIMITED,
  RATE_LIMIT_TOKEN_PER_IP: UNLIMITED,
  RATE_LIMIT_TOKEN_PER_CLIENT: UNLIMITED,
};

/** CPU time (user + system) of a process so far, in µs, from /proc (clock ticks). */
function cpuUs(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    // utime and stime are fields 14 and 15 of stat; here 0-based after the command name: 11 and 12.
    return ((Number(fields[11]) + Number(fields[12])) / 100) * 1e6;
  } catch {
    return 0;
  }
}

interface Target {
  name: string;
  url: string;
  cluster: Cluster;
}

interface Sample {
  rps: number;
  p99: number;
  non2xx: number;
  cpuUs: number;
}

async function measure(target: Target, token: string, seconds = SECONDS): Promise<Sample> {
  const nodesCpu = () => target.cluster.nodes.reduce<number>((sum, node) => sum + cpuUs(node.pid), 0);
  const before = nodesCpu();
  const result = await postLoad(`${target.url}/mcp/mcp`, {
    body: BODY,
    headers: { ...HEADERS, authorization: `Bearer ${token}` },
    connections: CONNECTIONS,
    seconds,
  });
  const used = nodesCpu() - before;
  return { rps: result.rps, p99: result.p99, non2xx: result.non2xx, cpuUs: used / Math.max(1, result.total) };
}

async function revocationDelays(cluster: Cluster, prisma: ReturnType<typeof createDatabase>["prisma"]): Promise<{ delays: number[]; roundTrip: number[] }> {
  const [origin, ...others] = cluster.nodes;
  const delays: number[] = [];
  const roundTrip: number[] = [];
  const call = async (url: string, token: string) => {
    const started = performance.now();
    const res = await fetch(`${url}/mcp/mcp`, { method: "POST", headers: { ...HEADERS, authorization: `Bearer ${token}` }, body: BODY });
    await res.arrayBuffer();
    return { status: res.status, ms: performance.now() - started };
  };
  for (let i = 0; i < REVOCATIONS; i++) {
    const minted = await mintAccessToken(prisma, cluster.url);
    for (const node of others) roundTrip.push((await call(node.url, minted.token)).ms);
    const revoked = await fetch(`${origin.url}/api/oauth/revoke`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: minted.token, client_id: minted.clientId }),
    });
    if (revoked.status !== 200) throw new Error(`revocation answered ${revoked.status}`);
    const started = performance.now();
    await Promise.all(
      others.map(async (node) => {
        for (let attempt = 0; attempt < 10_000 && performance.now() - started < 5_000; attempt++) {
          if ((await call(node.url, minted.token)).status === 401) {
            delays.push(performance.now() - started);
            return;
          }
        }
        delays.push(Infinity);
      }),
    );
  }
  return { delays, roundTrip };
}

const quantile = (values: number[], q: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * q))];

async function main(): Promise<void> {
  await withBenchDatabase("cluster_bench", async (databaseUrl, onCleanup) => {
    const prefix = `bench:cluster:${new URL(databaseUrl).pathname.slice(1)}:`;
    const db = createDatabase(databaseUrl, { max: 2 });
    onCleanup(() => db.close());
    console.error(`Cluster benchmark: ${CONNECTIONS} connections, ${ROUNDS} rounds of ${SECONDS} s per row, ${os.cpus().length} CPUs, load ${os.loadavg()[0].toFixed(2)}`);
    const one = await startCluster({ size: 1, databaseUrl, redisUrl: REDIS_URL, redisPrefix: `${prefix}1:`, env: UNLIMITED_ENV });
    onCleanup(() => one.close());
    const three = await startCluster({ size: 3, databaseUrl, redisUrl: REDIS_URL, redisPrefix: `${prefix}3:`, env: UNLIMITED_ENV });
    onCleanup(() => three.close());
    // One APP_URL per cluster (the token audience): a token for each.
    const tokenOne = (await mintAccessToken(db.prisma, one.url, { name: "Bench" })).token;
    const tokenThree = (await mintAccessToken(db.prisma, three.url, { name: "Bench" })).token;
    const targets: Array<Target & { token: string }> = [
      { name: "1 node, direct (anchor)", url: one.nodes[0].url, cluster: one, token: tokenOne },
      { name: "1 node behind HAProxy", url: one.url, cluster: one, token: tokenOne },
      { name: "3 nodes behind HAProxy", url: three.url, cluster: three, token: tokenThree },
    ];
    const samples = new Map<string, Sample[]>(targets.map((t) => [t.name, []]));
    const ratios: number[] = [];
    // Warm-up: JIT, pools, HAProxy connections.
    for (const target of targets) await measure(target, target.token, 2);
    for (let round = 0; round < ROUNDS; round++) {
      const inRound: Record<string, Sample> = {};
      for (const target of targets) {
        const sample = await measure(target, target.token);
        samples.get(target.name)!.push(sample);
        inRound[target.name] = sample;
        console.error(`  round ${round + 1}: ${target.name}: ${Math.round(sample.rps)} req/s, ${Math.round(sample.cpuUs)} µs node CPU/request`);
      }
      ratios.push(inRound["3 nodes behind HAProxy"].rps / inRound["1 node behind HAProxy"].rps);
    }
    const rows = [
      "| target | requests/s | p99 ms | non-2xx | node CPU µs/request |",
      "|---|---:|---:|---:|---:|",
      ...targets.map((t) => {
        const s = samples.get(t.name)!;
        return `| ${t.name} | ${Math.round(median(s.map((x) => x.rps)))} | ${median(s.map((x) => x.p99))} | ${s.reduce((n, x) => n + x.non2xx, 0)} | ${Math.round(median(s.map((x) => x.cpuUs)))} |`;
      }),
    ];
    console.log(rows.join("\n"));
    console.log(`\n3 nodes / 1 node behind HAProxy (median of per-round ratios): ${median(ratios).toFixed(2)}x requests/s on ${os.cpus().length} CPUs`);

    const { delays, roundTrip } = await revocationDelays(three, db.prisma);
    console.log(
      `revocation on one node refused on the two others (${delays.length} measurements, each ending with one MCP round trip): ` +
        `median ${quantile(delays, 0.5).toFixed(1)} ms, p90 ${quantile(delays, 0.9).toFixed(1)} ms, max ${quantile(delays, 1).toFixed(1)} ms; ` +
        `anchor: one MCP round trip median ${quantile(roundTrip, 0.5).toFixed(1)} ms`,
    );
  });
}

await main();
