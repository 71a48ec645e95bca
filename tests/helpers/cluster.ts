/**
 * Several nodes of the built server (`node scripts/start.js`, as `npm start` runs it, each in its own process)
 * behind HAProxy (Debian's `haproxy`, listed in scripts/prerequisites.js), on one database and one Redis, all on
 * loopback. Used by the several-nodes test and by bench/cluster.ts.
 *
 * HAProxy balances per request (round robin), checks `GET /api/health` every 500 ms, and is driven through its
 * runtime API (a UNIX socket) for rolling restarts: a node is put in maintenance (no new requests), its in-flight
 * requests finish, it gets SIGTERM (graceful shutdown), a new process takes its port, and it is made ready again —
 * what a Kubernetes rolling update does with readiness probes and a preStop pause (deploy/kubernetes/).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { freePort } from "../../server/db/embedded.ts";

export const CLUSTER_AUTH_SECRET = "cluster-secret-cluster-secret-0123456789abcdef";

export interface ClusterNode {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  /** The current process's pid (a restart replaces the process). */
  readonly pid: number | undefined;
  /** What the current process printed (JSON log lines, warnings and up). */
  output(): string;
}

export interface Cluster {
  /** HAProxy's address: APP_URL of every node. */
  url: string;
  nodes: ClusterNode[];
  /** Drains `node` in HAProxy, stops it with SIGTERM, starts a new process on its port, makes it ready again. */
  restart(node: ClusterNode): Promise<{ stoppedMs: number; startedMs: number }>;
  /** HAProxy's view of each server: name -> status (UP, DOWN, MAINT, ...) and current sessions. */
  servers(): Promise<Map<string, { status: string; sessions: number }>>;
  close(): Promise<void>;
}

export interface ClusterOptions {
  size: number;
  databaseUrl: string;
  redisUrl: string;
  redisPrefix: string;
  /** More server settings for every node. */
  env?: Record<string, string>;
  logLevel?: string;
}

/** Stops with one clear line when HAProxy is missing (scripts/prerequisites.js installs it for `npm test`). */
export function haproxyAvailable(): boolean {
  return spawnSync("haproxy", ["-v"], { stdio: "ignore" }).status === 0;
}

export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  if (!haproxyAvailable()) throw new Error("haproxy is not installed: `apt-get install -y haproxy` (scripts/prerequisites.js lists it)");
  const dir = mkdtempSync(path.join(os.tmpdir(), "mcp-oauth-cluster-"));
  const frontPort = await freePort();
  const url = `http://127.0.0.1:${frontPort}`;
  const ports: number[] = [];
  for (let i = 0; i < options.size; i++) ports.push(await freePort());
  const names = ports.map((_, i) => `n${i + 1}`);
  const socketPath = path.join(dir, "admin.sock");

  const env = serverProcessEnv({ ...options, appUrl: url });

  const processes = new Map<string, ServerProcess>();
  const nodes: ClusterNode[] = names.map((name, i) => ({
    name,
    port: ports[i],
    url: `http://127.0.0.1:${ports[i]}`,
    get pid() {
      return processes.get(name)?.child.pid;
    },
    output: () => processes.get(name)?.output() ?? "",
  }));

  writeFileSync(path.join(dir, "haproxy.cfg"), haproxyConfig(frontPort, socketPath, nodes));
  let haproxy: ChildProcess | undefined;
  try {
    await Promise.all(nodes.map(async (node) => processes.set(node.name, await startServerProcess(node, env))));
    haproxy = spawn("haproxy", ["-f", path.join(dir, "haproxy.cfg"), "-db"], { stdio: ["ignore", "ignore", "pipe"] });
    let haproxyErrors = "";
    haproxy.stderr!.on("data", (chunk: Buffer) => (haproxyErrors += chunk.toString()));
    const runningHaproxy = haproxy;
    await waitFor("HAProxy listening", 10_000, async () => {
      if (runningHaproxy.exitCode !== null) throw new Error(`haproxy exited: ${haproxyErrors}`);
      return (await canConnect(frontPort)) && (await canConnect(socketPath));
    });
  } catch (error) {
    for (const proc of processes.values()) proc.child.kill("SIGKILL");
    haproxy?.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }

  const command = (line: string) => runtimeCommand(socketPath, line);
  const servers = async () => {
    const csv = await command("show stat");
    const header = csv.split("\n")[0].replace(/^# /, "").split(",");
    const result = new Map<string, { status: string; sessions: number }>();
    for (const row of csv.split("\n").slice(1)) {
      const cells = row.split(",");
      if (cells[header.indexOf("pxname")] !== "nodes") continue;
      const name = cells[header.indexOf("svname")];
      if (name === "BACKEND" || name === "FRONTEND") continue;
      result.set(name, { status: cells[header.indexOf("status")], sessions: Number(cells[header.indexOf("scur")]) });
    }
    return result;
  };
  // Every server checked healthy before the cluster is handed over.
  await waitFor("every node UP in HAProxy", 15_000, async () => [...(await servers()).values()].every((s) => s.status === "UP"));

  return {
    url,
    nodes,
    servers,
    async restart(node) {
      const started = performance.now();
      await command(`set server nodes/${node.name} state maint`);
      // In-flight requests finish here (a preStop pause in Kubernetes); a long-lived SSE stream may still be open:
      // the node's graceful shutdown ends it and its client reconnects through the balancer to another node.
      await waitFor(`${node.name} drained`, 3_000, async () => (await servers()).get(node.name)?.sessions === 0).catch(() => {});
      const proc = processes.get(node.name)!;
      proc.child.kill("SIGTERM");
      const exit = await withTimeout(proc.exit, 20_000, `${node.name} to exit after SIGTERM`);
      if (exit.code !== 0) throw new Error(`${node.name} exited with ${exit.code ?? exit.signal}:\n${proc.output()}`);
      const stoppedMs = performance.now() - started;
      processes.set(node.name, await startServerProcess(node, env));
      await command(`set server nodes/${node.name} state ready`);
      await waitFor(`${node.name} UP in HAProxy`, 15_000, async () => (await servers()).get(node.name)?.status === "UP");
      return { stoppedMs, startedMs: performance.now() - started - stoppedMs };
    },
    async close() {
      haproxy?.kill("SIGTERM");
      await Promise.all(
        [...processes.values()].map(async (proc) => {
          proc.child.kill("SIGTERM");
          await withTimeout(proc.exit, 15_000, "node exit").catch(() => proc.child.kill("SIGKILL"));
        }),
      );
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function haproxyConfig(frontPort: number, socketPath: string, nodes: ClusterNode[]): string {
  return `global
  maxconn 4096
  stats socket ${socketPath} mode 600 level admin

defaults
  mode http
  timeout connect 2s
  timeout client 60s
  timeout server 60s
  timeout http-request 10s
  # A connection refused (a node stopping) is tried again, on another server.
  retries 3
  option redispatch 1
  retry-on conn-failure
  option forwardfor

frontend front
  bind 127.0.0.1:${frontPort}
  default_backend nodes

backend nodes
  balance roundrobin
  option httpchk GET /api/health
  http-check expect status 200
  default-server inter 500ms fall 2 rise 1
${nodes.map((node) => `  server ${node.name} 127.0.0.1:${node.port} check`).join("\n")}
`;
}

/**
 * The variables of a server process: production, the given database and Redis, HAProxy's one hop believed, and
 * nothing from a developer's .env (variables that exist, even empty, are never filled in by dotenv).
 */
export function serverProcessEnv(options: {
  databaseUrl: string;
  redisUrl?: string;
  redisPrefix?: string;
  appUrl: string;
  env?: Record<string, string>;
  logLevel?: string;
}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? "/tmp",
    NODE_ENV: "production",
    AUTH_SECRET: CLUSTER_AUTH_SECRET,
    AUTH_DEV_LOGIN: "true",
    DATABASE_URL: options.databaseUrl,
    REDIS_URL: options.redisUrl ?? "",
    REDIS_KEY_PREFIX: options.redisPrefix ?? "",
    APP_URL: options.appUrl,
    HOST: "127.0.0.1",
    TRUST_PROXY: "true",
    LOG_LEVEL: options.logLevel ?? "warn",
    GOOGLE_CLIENT_ID: "",
    GOOGLE_CLIENT_SECRET: "",
    ADMIN_EMAILS: "",
    OTEL_EXPORTER_OTLP_ENDPOINT: "",
    ...options.env,
  };
}

export interface ServerProcess {
  child: ChildProcess;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

/** `node scripts/start.js` (what `npm start` runs) on `node.port`; resolves once its /api/health is 200. */
export async function startServerProcess(node: { name: string; port: number; url: string }, env: Record<string, string>): Promise<ServerProcess> {
  const nodeEnv: Record<string, string> = { ...env, PORT: String(node.port) };
  const child = spawn(process.execPath, ["scripts/start.js"], {
    env: nodeEnv as NodeJS.ProcessEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  await waitFor(`${node.name} healthy`, 60_000, async () => {
    if (child.exitCode !== null) throw new Error(`${node.name} exited during start:\n${output}`);
    const res = await fetch(`${node.url}/api/health`, { signal: AbortSignal.timeout(2_000) }).catch(() => null);
    return res?.status === 200;
  });
  return { child, exit, output: () => output };
}

/** One line to HAProxy's runtime API; resolves its answer. */
function runtimeCommand(socketPath: string, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    let answer = "";
    socket.setTimeout(5_000, () => socket.destroy(new Error(`haproxy runtime API: no answer to ${line}`)));
    socket.on("connect", () => socket.write(`${line}\n`));
    socket.on("data", (chunk: Buffer) => (answer += chunk.toString()));
    socket.on("end", () => resolve(answer));
    socket.on("error", reject);
  });
}

function canConnect(target: number | string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = typeof target === "number" ? net.connect(target, "127.0.0.1") : net.connect(target);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

async function waitFor(what: string, ms: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
