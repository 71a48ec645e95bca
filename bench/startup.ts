/**
 * Start-up and memory of `npm start` with the embedded PostgreSQL (DATABASE_URL unset):
 *   - cold: a fresh DATA_DIR (initdb + migrations + server), from spawn to the first healthy /api/health;
 *   - warm: restarts on the same DATA_DIR, alternating the production entry (`scripts/start.js`, the bundled host
 *     build/server/main.js, ADR 0012) with the TypeScript sources loaded through tsx (`node --import tsx
 *     server/main.ts`, how production ran before), so both meet the same machine load; medians per entry;
 *   - idle RSS of the Node process (and of the PostgreSQL processes it started) a few seconds after start;
 *   - time from SIGTERM to exit.
 * Usage: npx tsx bench/startup.ts [warmRunsPerEntry=3]    (builds the bundle first when it is missing or stale)
 */
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort } from "../server/db/embedded.ts";
import { buildServer, serverBundleStale } from "../scripts/build-server.js";

const warmRuns = Number(process.argv[2] ?? 3);

const ENTRIES = {
  "bundle (npm start)": ["scripts/start.js"],
  "tsx (sources)": ["--import", "tsx", "server/main.ts"],
} as const;
type Entry = keyof typeof ENTRIES;

function rssKb(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** Every process whose ancestry leads to `root`. */
function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      parent.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // gone
    }
  }
  const found: number[] = [];
  for (const pid of parent.keys()) {
    for (let p = parent.get(pid); p && p > 1; p = parent.get(p)) {
      if (p === root) {
        found.push(pid);
        break;
      }
    }
  }
  return found;
}

interface Run {
  healthyMs: number;
  nodeRssMb: number;
  pgRssMb: number;
  stopMs: number;
}

async function run(dataDir: string, entry: Entry): Promise<Run> {
  const port = await freePort();
  const started = performance.now();
  const child: ChildProcess = spawn(process.execPath, [...ENTRIES[entry]], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: "production",
      AUTH_SECRET: "b".repeat(48),
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: "127.0.0.1",
      LOG_LEVEL: "warn",
      DATABASE_URL: "",
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  let healthyMs = 0;
  for (;;) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/api/health`);
      if (res.status === 200) {
        healthyMs = performance.now() - started;
        break;
      }
    } catch {
      // not listening yet
    }
    if (performance.now() - started > 60_000) throw new Error("not healthy within 60 s");
    await new Promise((r) => setTimeout(r, 10));
  }
  await new Promise((r) => setTimeout(r, 5_000));
  const nodeRss = rssKb(child.pid!);
  const pgRss = descendants(child.pid!).reduce((sum, pid) => sum + rssKb(pid), 0);
  const stopAt = performance.now();
  child.kill("SIGTERM");
  await exited;
  return { healthyMs, nodeRssMb: nodeRss / 1024, pgRssMb: pgRss / 1024, stopMs: performance.now() - stopAt };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const row = (name: string, r: Run) =>
  `| ${name} | ${r.healthyMs.toFixed(0)} | ${r.nodeRssMb.toFixed(1)} | ${r.pgRssMb.toFixed(1)} | ${r.stopMs.toFixed(0)} |`;

if (serverBundleStale()) await buildServer();
const dataDir = mkdtempSync(path.join(os.tmpdir(), "mcp-oauth-bench-"));
chmodSync(dataDir, 0o755);
try {
  const lines = [row("cold (initdb), bundle", await run(dataDir, "bundle (npm start)"))];
  const warm = new Map<Entry, Run[]>([["bundle (npm start)", []], ["tsx (sources)", []]]);
  for (let i = 1; i <= warmRuns; i++) {
    // Alternate which entry goes first, so neither always starts right after the other one stopped.
    const order: Entry[] = i % 2 ? ["bundle (npm start)", "tsx (sources)"] : ["tsx (sources)", "bundle (npm start)"];
    for (const entry of order) {
      const result = await run(dataDir, entry);
      warm.get(entry)!.push(result);
      lines.push(row(`warm #${i}, ${entry}`, result));
    }
  }
  for (const [entry, runs] of warm) {
    lines.push(
      row(`**median warm, ${entry}**`, {
        healthyMs: median(runs.map((r) => r.healthyMs)),
        nodeRssMb: median(runs.map((r) => r.nodeRssMb)),
        pgRssMb: median(runs.map((r) => r.pgRssMb)),
        stopMs: median(runs.map((r) => r.stopMs)),
      }),
    );
  }
  console.log("| start | to healthy (ms) | idle RSS node (MB) | RSS postgres (MB) | SIGTERM to exit (ms) |");
  console.log("|---|---:|---:|---:|---:|");
  for (const line of lines) console.log(line);
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
