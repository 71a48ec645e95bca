/**
 * Several nodes: three processes of the built server behind HAProxy, on one database and one Redis, all on
 * loopback (tests/helpers/cluster.ts). A revocation on one node is refused on the others within 1 s (measured and
 * printed); a rate limit counts a client's requests on every node together; an SSE stream on one node receives
 * the answers to messages posted to the others; a rolling restart of all three under steady load fails no request.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatabase, type Database } from "../../server/db/client.ts";
import { startCluster, type Cluster } from "../helpers/cluster.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { connectSse, INITIALIZE, MCP_ACCEPT, redisTestPrefix, structured, TEST_REDIS_URL, toolsCall } from "../helpers/mcp.ts";
import { mintAccessToken } from "../helpers/tokens.ts";

const TOKEN_LIMIT_PER_CLIENT = 8;

let database: TestDatabase;
let db: Database;
let cluster: Cluster;

beforeAll(async () => {
  database = await createTestDatabase();
  db = createDatabase(database.url, { max: 4 });
  cluster = await startCluster({
    size: 3,
    databaseUrl: database.url,
    redisUrl: TEST_REDIS_URL,
    redisPrefix: redisTestPrefix("cluster"),
    env: {
      // Per-IP limits out of the way (every request comes from 127.0.0.1); the per-client token limit is the one tried.
      RATE_LIMIT_TOKEN_PER_IP: "1000000",
      RATE_LIMIT_MCP_PER_IP: "1000000",
      RATE_LIMIT_AUTHORIZE_PER_IP: "1000000",
      RATE_LIMIT_TOKEN_PER_CLIENT: String(TOKEN_LIMIT_PER_CLIENT),
      RATE_LIMIT_MCP_PER_CLIENT: "1000000",
    },
  });
}, 120_000);

afterAll(async () => {
  await cluster?.close();
  await db?.close();
  await database?.drop();
}, 60_000);

function mcpCall(base: string, token: string, body: unknown = toolsCall("whoami")): Promise<Response> {
  return fetch(`${base}/mcp/mcp`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", accept: MCP_ACCEPT },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
}

async function status(response: Promise<Response>): Promise<number> {
  const res = await response;
  await res.arrayBuffer();
  return res.status;
}

describe("Three nodes behind HAProxy, one database, one Redis", () => {
  it("a revocation on one node is refused on the others within 1 s", async () => {
    const delays: number[] = [];
    for (let round = 0; round < 5; round++) {
      const minted = await mintAccessToken(db.prisma, cluster.url);
      const [origin, ...others] = cluster.nodes;
      // Verified (and cached) on every node first.
      for (const node of cluster.nodes) expect(await status(mcpCall(node.url, minted.token, INITIALIZE))).toBe(200);
      const revoked = await fetch(`${origin.url}/api/oauth/revoke`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ token: minted.token, client_id: minted.clientId }),
      });
      expect(revoked.status).toBe(200);
      // The delay is when the first refused request was sent, after the revocation answered: a busy machine's
      // slow round trips do not count against the propagation.
      const started = performance.now();
      const refused = await Promise.all(
        others.map(async (node) => {
          while (performance.now() - started < 5_000) {
            const sent = performance.now();
            if ((await status(mcpCall(node.url, minted.token))) === 401) return sent - started;
          }
          return Infinity;
        }),
      );
      delays.push(...refused);
    }
    const sorted = [...delays].sort((x, y) => x - y);
    console.info(
      `revocation reached the other nodes in: median ${sorted[Math.floor(sorted.length / 2)].toFixed(1)} ms, max ${sorted.at(-1)!.toFixed(1)} ms (${delays.length} measurements: when the first refused request was sent)`,
    );
    for (const delay of delays) expect(delay).toBeLessThan(1_000);
  });

  it("a rate limit counts a client's requests on every node together", async () => {
    const clientId = `mcpc_cluster_limit_${Date.now()}`;
    const attempt = async (base: string) => {
      const res = await fetch(`${base}/api/oauth/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: "mcprt_unknown", client_id: clientId }),
      });
      await res.arrayBuffer();
      return res.status;
    };
    const statuses: number[] = [];
    // Spread over the three nodes directly (no node sees more than a third of the limit) ...
    for (let i = 0; i < TOKEN_LIMIT_PER_CLIENT; i++) statuses.push(await attempt(cluster.nodes[i % 3].url));
    expect(statuses.every((s) => s !== 429)).toBe(true);
    // ... and the next one is refused on every node, and through the balancer.
    for (const node of cluster.nodes) expect(await attempt(node.url)).toBe(429);
    expect(await attempt(cluster.url)).toBe(429);
  });

  it("an SSE stream and its messages work across nodes", async () => {
    const minted = await mintAccessToken(db.prisma, cluster.url, { name: "Across Nodes" });
    // The stream on one node, each message posted to another one.
    const [first, second, third] = cluster.nodes;
    for (const postTo of [second, third]) {
      const client = await connectSse(first.url, minted.token, { postTo: postTo.url });
      const me = structured<{ user: { name: string } }>(await client.callTool({ name: "whoami", arguments: {} }));
      expect(me.user.name).toBe("Across Nodes");
      await client.close();
    }
    // Through the balancer: the stream lands on one node, the POSTs go round robin over all three.
    const client = await connectSse(cluster.url, minted.token);
    for (let i = 0; i < 6; i++) {
      const me = structured<{ user: { name: string } }>(await client.callTool({ name: "whoami", arguments: {} }));
      expect(me.user.name).toBe("Across Nodes");
    }
    expect((await client.listTools()).tools.map((t) => t.name)).toContain("whoami");
    await client.close();
  });

  it("a rolling restart of all three under steady load fails no request", async () => {
    const tokens = await Promise.all([1, 2, 3, 4].map(() => mintAccessToken(db.prisma, cluster.url)));
    const failures: string[] = [];
    const counts = { requests: 0, mcp: 0, token: 0, pages: 0 };
    let running = true;
    const MAX_REQUESTS_PER_WORKER = 3_000;
    const expectStatus = async (what: string, response: Promise<Response>, expected: number[]) => {
      try {
        const res = await response;
        await res.arrayBuffer();
        if (!expected.includes(res.status)) failures.push(`${what}: ${res.status}`);
      } catch (error) {
        failures.push(`${what}: ${(error as Error).cause ?? (error as Error).message}`);
      }
    };
    // Four workers, each one request at a time with a short pause: bounded in count and in time.
    const workers = tokens.map(async (minted, worker) => {
      for (let i = 0; running && i < MAX_REQUESTS_PER_WORKER; i++) {
        counts.requests += 1;
        const kind = i % 4;
        if (kind < 2) {
          counts.mcp += 1;
          await expectStatus("MCP tools/call", mcpCall(cluster.url, minted.token), [200]);
        } else if (kind === 2) {
          counts.token += 1;
          await expectStatus(
            "token",
            fetch(`${cluster.url}/api/oauth/token`, {
              method: "POST",
              headers: { "content-type": "application/x-www-form-urlencoded" },
              body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: "mcprt_unknown", client_id: `mcpc_load_${worker}_${i}` }),
              signal: AbortSignal.timeout(10_000),
            }),
            [400, 401],
          );
        } else {
          counts.pages += 1;
          await expectStatus("GET /login", fetch(`${cluster.url}/login`, { signal: AbortSignal.timeout(10_000) }), [200]);
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    });
    const restarts: string[] = [];
    try {
      await new Promise((resolve) => setTimeout(resolve, 500));
      for (const node of cluster.nodes) {
        const { stoppedMs, startedMs } = await cluster.restart(node);
        restarts.push(`${node.name}: drained and stopped in ${Math.round(stoppedMs)} ms, back in ${Math.round(startedMs)} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    } finally {
      running = false;
      await Promise.all(workers);
    }
    console.info(`rolling restart under load: ${counts.requests} requests (${counts.mcp} MCP, ${counts.token} token, ${counts.pages} pages); ${restarts.join("; ")}`);
    expect(failures).toEqual([]);
    expect(counts.requests).toBeGreaterThan(100);
    for (const [name, server] of await cluster.servers()) expect(server.status, name).toBe("UP");
  }, 300_000);
});
