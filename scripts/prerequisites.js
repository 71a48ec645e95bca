// Part of `npm test`: the programs the tests drive that npm cannot install (Debian packages). Missing ones are
// installed with apt-get (as root, or through passwordless sudo), one line printed per package; where that cannot
// happen the run stops at once with one message naming what is missing and the command that installs it.
import { spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import path from "node:path";

/** What the suite needs from the operating system, and the Debian package that brings each. */
export const PREREQUISITES = [
  { command: "chromium", pkg: "chromium", why: "browser tests (playwright-core drives Debian's Chromium)" },
  { command: "promtool", pkg: "prometheus", why: "alert-rule and dashboard checks" },
  { command: "prometheus", pkg: "prometheus", why: "the scrape test" },
  { command: "haproxy", pkg: "haproxy", why: "the multi-node tests" },
];

/** The absolute path of `command` on `PATH`, or undefined. */
export function findCommand(command, env = process.env) {
  for (const dir of (env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, command);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * The decision, free of I/O: given what is missing and what this machine can do, either the packages to install
 * and the command prefix to install them with, or the message to stop with.
 * @param {{ missing: typeof PREREQUISITES, isRoot: boolean, hasSudo: boolean, hasApt: boolean }} facts
 * @returns {{ action: "none" } | { action: "install", packages: string[], prefix: string[] } | { action: "stop", message: string }}
 */
export function planInstall({ missing, isRoot, hasSudo, hasApt }) {
  if (missing.length === 0) return { action: "none" };
  const packages = [...new Set(missing.map((p) => p.pkg))];
  if (hasApt && (isRoot || hasSudo)) return { action: "install", packages, prefix: isRoot ? [] : ["sudo", "-n"] };
  const why = !hasApt ? "apt-get is not available here" : "this user is not root and has no passwordless sudo";
  return { action: "stop", message: stopMessage(missing, packages, why) };
}

function stopMessage(missing, packages, why) {
  const lines = missing.map((p) => `  - ${p.command} (Debian package ${p.pkg}): ${p.why}`);
  return [
    `npm test needs programs that are not installed, and cannot install them (${why}):`,
    ...lines,
    `Install them, then run npm test again:`,
    `  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${packages.join(" ")}`,
  ].join("\n");
}

function run(argv, options = {}) {
  return spawnSync(argv[0], argv.slice(1), { encoding: "utf8", ...options });
}

/**
 * Checks, installs what it can, and returns the process exit code (0 = everything is there).
 * @param {{ env?: Record<string, string | undefined>, isRoot?: boolean, log?: (line: string) => void, fail?: (line: string) => void }} [options]
 */
export function ensurePrerequisites({
  env = process.env,
  isRoot = process.getuid?.() === 0,
  log = console.log,
  fail = console.error,
} = {}) {
  const missing = PREREQUISITES.filter((p) => !findCommand(p.command, env));
  const plan = planInstall({
    missing,
    isRoot,
    hasSudo: Boolean(findCommand("sudo", env)) && run(["sudo", "-n", "true"], { env }).status === 0,
    hasApt: Boolean(findCommand("apt-get", env)),
  });
  if (plan.action === "none") return 0;
  if (plan.action === "stop") {
    fail(plan.message);
    return 1;
  }
  for (const pkg of plan.packages) log(`Installing ${pkg} from Debian (for ${whatFor(pkg)})`);
  const aptEnv = { ...env, DEBIAN_FRONTEND: "noninteractive" };
  const steps = [
    [...plan.prefix, "apt-get", "update", "-qq"],
    [...plan.prefix, "apt-get", "install", "-y", "-qq", "--no-install-recommends", ...plan.packages],
  ];
  for (const argv of steps) {
    const result = run(argv, { env: aptEnv });
    if (result.status !== 0) {
      fail(stopMessage(missing, plan.packages, `\`${argv.join(" ")}\` failed: ${lastLine(result)}`));
      return 1;
    }
  }
  const stillMissing = missing.filter((p) => !findCommand(p.command, env));
  if (stillMissing.length > 0) {
    fail(stopMessage(stillMissing, plan.packages, "apt-get finished but they are still not on PATH"));
    return 1;
  }
  return 0;
}

function whatFor(pkg) {
  return PREREQUISITES.filter((p) => p.pkg === pkg)
    .map((p) => p.why)
    .join("; ");
}

function lastLine(result) {
  const text = `${result.stderr ?? ""}${result.stdout ?? ""}`.trim() || result.error?.message || `exit ${result.status}`;
  return text.split("\n").at(-1);
}
