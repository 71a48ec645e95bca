/**
 * Soak: mixed traffic at a steady rate against the built server in its own process (as `npm start` runs it), for
 * a fixed time; every interval it prints the server's resident memory, V8 heap and event-loop lag (scraped from its
 * own /metrics: prom-client's Node.js metrics, the lag histogram reset at each scrape) and the requests and errors
 * of that interval.
 *
 * Traffic: MCP `tools/call` (whoami from the token cache, list_connected_apps from the database), refresh-token
 * rotations (each grant's token used in turn, the new access token then used on MCP: cache misses), and admin
 * console and account pages of a signed-in administrator. Analytics on, rate limits on (far above the load), Redis
 * when reachable.
 *
 * Target: memory flat (the last interval's RSS within 10% of the second's: the first holds the warm-up) and no
 * error. Exits 1 when either is missed.
 *
 *   npm run build && npx tsx bench/soak.ts                       (10 minutes, 60 s intervals, 20 requests/s)
 *   npx tsx bench/soak.ts --seconds 60 --interval 10 --rate 20    (a short run)
 *
 * Environment: BENCH_DATABASE_URL (see bench/lib.ts), BENCH_REDIS_URL (else TEST_REDIS_URL, redis://127.0.0.1:6379;
 * "off" for none).
 */
import os from "node:os";
import { parseArgs } from "node:util";
import { freePort } from "../server/db/embedded.ts";
import { serverProcessEnv, startServerProcess } from "../tests/helpers/cluster.ts";
import { UNLIMITED, withBenchDatabase } from "./lib.ts";

const { values: flags } = parseArgs({
  options: {
    seconds: { type: "string", default: "600" },
    interval: { type: "string", default: "60" },
    rate: { type: "string", default: "20" },
    grants: { type: "string", default: "20" },
  },
});
const SECONDS = Number(flags.seconds);
const INTERVAL = Number(flags.interval);
const RATE = Number(flags.rate);
const GRANTS = Number(flags.grants);
const MAX_IN_FLIGHT = 64;
const REDIS_URL = process.env.BENCH_REDIS_URL ?? process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const ADMIN = "soak-admin@example.com";
const REDIRECT_URI = "http://127.0.0.1:8976/callback";
const MCP_HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25" };
const PAGES = ["/admin", "/admin/clients", "/admin/tokens", "/admin/security", "/account"];

/** A browser's cookies, enough for our sign-in and consent forms. */
class Browser {
  private readonly cookies = new Map<string, string>();
  constructor(private readonly base: string) {}

  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size) headers.set("cookie", [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; "));
    const res = await fetch(path.startsWith("http") ? path : this.base + path, { ...init, headers, redirect: "manual" });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const eq = pair.indexOf("=");
      this.cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
    return res;
  }

  async submit(path: string, fields: Record<string, string>): Promise<Response> {
    const page = await this.fetch(path);
    const csrf = /name="csrf" value="([^"]+)"/.exec(await page.text())?.[1];
    if (!csrf) throw new Error(`no form on ${path} (${page.status})`);
    return this.fetch(path, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ csrf, ...fields }),
    });
  }
}

interface Grant {
  clientId: string;
  refreshToken: string;
  accessToken: string;
  busy: boolean;
}

/** A public client registered, authorized by the signed-in person (consent), its code exchanged. */
async function obtainGrant(base: string, browser: Browser, clientId: string): Promise<Grant> {
  const verifier = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
  const challenge = Buffer.from(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))).toString("base64url");
  const url = `/oauth/authorize?${new URLSearchParams({ response_type: "code", client_id: clientId, redirect_uri: REDIRECT_URI, code_challenge: challenge, code_challenge_method: "S256", state: "s" })}`;
  let res = await browser.fetch(url);
  if (res.status === 200) res = await browser.submit(url, { decision: "allow" });
  const code = new URL(res.headers.get("location") ?? "http://x/").searchParams.get("code");
  if (!code) throw new Error(`authorization failed: ${res.status}`);
  const tokens = await token(base, { grant_type: "authorization_code", code, code_verifier: verifier, client_id: clientId, redirect_uri: REDIRECT_URI });
  return { clientId, refreshToken: tokens.refresh_token, accessToken: tokens.access_token, busy: false };
}

async function token(base: string, params: Record<string, string>): Promise<{ access_token: string; refresh_token: string }> {
  const res = await fetch(`${base}/api/oauth/token`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(params) });
  const body = (await res.json()) as { access_token: string; refresh_token: string };
  if (res.status !== 200) throw new Error(`token endpoint answered ${res.status}: ${JSON.stringify(body)}`);
  return body;
}

/** Reads the server's own Node.js metrics (and resets its event-loop lag histogram). */
async function scrape(base: string): Promise<{ rssMb: number; heapMb: number; lagP99Ms: number; lagMaxMs: number }> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, "m").exec(text)?.[1] ?? NaN);
  return {
    rssMb: value("process_resident_memory_bytes") / 2 ** 20,
    heapMb: value("nodejs_heap_size_used_bytes") / 2 ** 20,
    lagP99Ms: value("nodejs_eventloop_lag_p99_seconds") * 1000,
    lagMaxMs: value("nodejs_eventloop_lag_max_seconds") * 1000,
  };
}

async function main(): Promise<void> {
  await withBenchDatabase("soak_bench", async (databaseUrl, onCleanup) => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const redis = REDIS_URL === "off" ? undefined : REDIS_URL;
    const env = serverProcessEnv({
      databaseUrl,
      appUrl: base,
      redisUrl: redis,
      redisPrefix: `bench:soak:${port}:`,
      env: {
        ADMIN_EMAILS: ADMIN,
        RATE_LIMIT_MCP_PER_IP: UNLIMITED,
        RATE_LIMIT_MCP_PER_CLIENT: UNLIMITED,
        RATE_LIMIT_TOKEN_PER_IP: UNLIMITED,
        RATE_LIMIT_TOKEN_PER_CLIENT: UNLIMITED,
        RATE_LIMIT_AUTHORIZE_PER_IP: UNLIMITED,
        RATE_LIMIT_REGISTER_PER_IP: UNLIMITED,
      },
    });
    const server = await startServerProcess({ name: "soak", port, url: base }, env);
    onCleanup(async () => {
      server.child.kill("SIGTERM");
      await server.exit;
    });

    // The people and clients of the run.
    const admin = new Browser(base);
    if ((await admin.submit("/login", { email: ADMIN, returnTo: "/" })).status !== 302) throw new Error("admin sign-in failed");
    const grants: Grant[] = [];
    for (let i = 0; i < GRANTS; i++) {
      const res = await fetch(`${base}/api/oauth/register`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          client_name: `Soak client ${i}`,
          redirect_uris: [REDIRECT_URI],
          grant_types: ["authorization_code", "refresh_token"],
          token_endpoint_auth_method: "none",
          scope: "mcp:tools",
        }),
      });
      const client = (await res.json()) as { client_id: string };
      grants.push(await obtainGrant(base, admin, client.client_id));
    }

    let inFlight = 0;
    let tick = 0;
    const counts = { requests: 0, errors: 0, skipped: 0, mcp: 0, refresh: 0, page: 0 };
    const errorSamples: string[] = [];
    const fail = (what: string) => {
      counts.errors += 1;
      if (errorSamples.length < 10) errorSamples.push(what);
    };
    const check = async (what: string, response: Promise<Response>) => {
      try {
        const res = await response;
        const text = await res.text();
        if (res.status !== 200 || /"isError":true/.test(text)) fail(`${what}: ${res.status} ${text.slice(0, 120)}`);
      } catch (error) {
        fail(`${what}: ${(error as Error).message}`);
      }
    };
    const mcpCall = (grant: Grant, tool: string) =>
      check(
        `MCP ${tool}`,
        fetch(`${base}/mcp/mcp`, {
          method: "POST",
          headers: { ...MCP_HEADERS, authorization: `Bearer ${grant.accessToken}` },
          body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: tool, arguments: {} } }),
        }),
      );
    const refresh = async (grant: Grant) => {
      grant.busy = true;
      try {
        const tokens = await token(base, { grant_type: "refresh_token", refresh_token: grant.refreshToken, client_id: grant.clientId });
        grant.refreshToken = tokens.refresh_token;
        grant.accessToken = tokens.access_token;
      } catch (error) {
        fail(`refresh: ${(error as Error).message}`);
      } finally {
        grant.busy = false;
      }
    };

    /**
     * One request of the mix: in each run of 10, one grant's 6 MCP calls, its refresh (2 slots, one used while the
     * other is in flight), and console pages. The grant's next turn uses the refreshed token: a cache miss.
     */
    const one = async () => {
      const n = tick++;
      const grant = grants[Math.floor(n / 10) % grants.length];
      const slot = n % 10;
      if (slot < 6) {
        counts.mcp += 1;
        await mcpCall(grant, slot < 4 ? "whoami" : "list_connected_apps");
      } else if (slot < 8 && !grant.busy) {
        counts.refresh += 1;
        await refresh(grant);
      } else {
        counts.page += 1;
        await check(`GET ${PAGES[n % PAGES.length]}`, admin.fetch(PAGES[n % PAGES.length]));
      }
    };

    console.error(`Soak: ${SECONDS} s at ${RATE} requests/s (${GRANTS} grants, Redis ${redis ? "on" : "off"}), ${os.cpus().length} CPUs, load ${os.loadavg()[0].toFixed(2)}`);
    const rows: Array<{ at: number; requests: number; errors: number; rssMb: number; heapMb: number; lagP99Ms: number; lagMaxMs: number }> = [];
    await scrape(base);
    const started = performance.now();
    let last = { ...counts };
    // Steady: every 10 ms, as many requests as are due by the clock (a late timer catches up, never bursts past).
    let issued = 0;
    const timer = setInterval(() => {
      const due = Math.floor(((performance.now() - started) / 1000) * RATE) - issued;
      for (let i = 0; i < due; i++) {
        issued += 1;
        if (inFlight >= MAX_IN_FLIGHT) {
          counts.skipped += 1;
          continue;
        }
        inFlight += 1;
        counts.requests += 1;
        void one().finally(() => (inFlight -= 1));
      }
    }, 10);
    for (let at = INTERVAL; at <= SECONDS; at += INTERVAL) {
      await new Promise((resolve) => setTimeout(resolve, started + at * 1000 - performance.now()));
      const sample = await scrape(base);
      rows.push({ at, requests: counts.requests - last.requests, errors: counts.errors - last.errors, ...sample });
      last = { ...counts };
      const row = rows.at(-1)!;
      console.error(
        `  ${at} s: ${row.requests} requests, ${row.errors} errors, RSS ${row.rssMb.toFixed(1)} MB, heap ${row.heapMb.toFixed(1)} MB, lag p99 ${row.lagP99Ms.toFixed(1)} ms`,
      );
    }
    clearInterval(timer);
    while (inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 50));

    console.log(
      [
        "| until | requests | errors | RSS MB | heap used MB | event-loop lag p99 ms | lag max ms |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        ...rows.map(
          (r) =>
            `| ${r.at} s | ${r.requests} | ${r.errors} | ${r.rssMb.toFixed(1)} | ${r.heapMb.toFixed(1)} | ${r.lagP99Ms.toFixed(1)} | ${r.lagMaxMs.toFixed(1)} |`,
        ),
      ].join("\n"),
    );
    const second = rows[Math.min(1, rows.length - 1)];
    const final = rows.at(-1)!;
    const growth = (final.rssMb - second.rssMb) / second.rssMb;
    console.log(
      `\n${counts.requests} requests (${counts.mcp} MCP, ${counts.refresh} refreshes, ${counts.page} pages), ${counts.errors} errors, ${counts.skipped} skipped (over ${MAX_IN_FLIGHT} in flight); ` +
        `RSS last interval vs second: ${(growth * 100).toFixed(1)}% (target within ±10%)`,
    );
    if (errorSamples.length) console.log(`errors:\n  ${errorSamples.join("\n  ")}`);
    if (counts.errors > 0 || Math.abs(growth) > 0.1) process.exitCode = 1;
  });
}

await main();
