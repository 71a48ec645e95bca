/**
 * `npm test` installs what it drives (scripts/prerequisites.js) or stops with one clear message. The decision is a
 * pure function; the installer itself runs against fake `apt-get` and `sudo` programs on a PATH of their own.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ensurePrerequisites, planInstall, PREREQUISITES } from "../../scripts/prerequisites.js";

const byCommand = (command: string) => PREREQUISITES.find((p) => p.command === command)!;

describe("planInstall: what npm test does about missing programs", () => {
  const promtool = byCommand("promtool");
  const prometheus = byCommand("prometheus");

  it("does nothing when everything is there", () => {
    expect(planInstall({ missing: [], isRoot: false, hasSudo: false, hasApt: false })).toEqual({ action: "none" });
  });

  it("installs each Debian package once, as root without a prefix", () => {
    expect(planInstall({ missing: [promtool, prometheus], isRoot: true, hasSudo: false, hasApt: true })).toEqual({
      action: "install",
      packages: ["prometheus"],
      prefix: [],
    });
  });

  it("installs through non-interactive sudo when not root", () => {
    const plan = planInstall({ missing: [byCommand("chromium")], isRoot: false, hasSudo: true, hasApt: true });
    expect(plan).toEqual({ action: "install", packages: ["chromium"], prefix: ["sudo", "-n"] });
  });

  it("stops with the missing programs and the install command when it cannot install", () => {
    for (const facts of [
      { isRoot: false, hasSudo: false, hasApt: true, why: "no passwordless sudo" },
      { isRoot: true, hasSudo: true, hasApt: false, why: "apt-get is not available" },
    ]) {
      const plan = planInstall({ missing: [promtool, byCommand("haproxy")], ...facts });
      expect(plan.action).toBe("stop");
      const message = (plan as { message: string }).message;
      expect(message).toContain(facts.why);
      expect(message).toContain("promtool (Debian package prometheus)");
      expect(message).toContain("haproxy (Debian package haproxy)");
      expect(message).toContain("sudo apt-get install -y --no-install-recommends prometheus haproxy");
    }
  });
});

describe("ensurePrerequisites against fake apt-get and sudo", () => {
  let dir: string;
  let out: string[];
  let err: string[];
  const io = () => ({ log: (line: string) => out.push(line), fail: (line: string) => err.push(line) });
  const program = (name: string, body = "exit 0") => {
    const file = path.join(dir, name);
    writeFileSync(file, `#!/bin/sh\n${body}\n`);
    chmodSync(file, 0o755);
  };
  // A fake apt-get: records its arguments, and on `install` makes the commands each package brings.
  const fakeApt = (exitCode = 0) =>
    program(
      "apt-get",
      [
        `echo "$@" >> "${dir}/apt.log"`,
        `[ ${exitCode} -ne 0 ] && { echo "E: could not reach the archive" >&2; exit ${exitCode}; }`,
        `if [ "$1" = install ]; then for p in "$@"; do case "$p" in`,
        `  chromium) printf '#!/bin/sh\\n' > "${dir}/chromium"; /bin/chmod +x "${dir}/chromium";;`,
        `  prometheus) for c in promtool prometheus; do printf '#!/bin/sh\\n' > "${dir}/$c"; /bin/chmod +x "${dir}/$c"; done;;`,
        `  haproxy) printf '#!/bin/sh\\n' > "${dir}/haproxy"; /bin/chmod +x "${dir}/haproxy";;`,
        `esac; done; fi`,
        `exit 0`,
      ].join("\n"),
    );
  const aptLog = () => readFileSync(path.join(dir, "apt.log"), "utf8").trim().split("\n");

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "prereq-"));
    out = [];
    err = [];
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("present: runs nothing", () => {
    for (const p of PREREQUISITES) program(p.command);
    fakeApt();
    expect(ensurePrerequisites({ env: { PATH: dir }, isRoot: true, ...io() })).toBe(0);
    expect(out).toEqual([]);
    expect(() => aptLog()).toThrow();
  });

  it("missing and installable as root: one line per package, then apt-get update and install", () => {
    program("chromium");
    fakeApt();
    expect(ensurePrerequisites({ env: { PATH: dir }, isRoot: true, ...io() })).toBe(0);
    expect(out).toEqual([
      expect.stringMatching(/^Installing prometheus from Debian/),
      expect.stringMatching(/^Installing haproxy from Debian/),
    ]);
    expect(aptLog()).toEqual(["update -qq", "install -y -qq --no-install-recommends prometheus haproxy"]);
    expect(err).toEqual([]);
  });

  it("missing and installable through sudo when not root", () => {
    for (const p of PREREQUISITES.filter((p) => p.command !== "haproxy")) program(p.command);
    fakeApt();
    program("sudo", `[ "$1" = -n ] && shift; [ "$1" = true ] && exit 0; exec "$@"`);
    expect(ensurePrerequisites({ env: { PATH: dir }, isRoot: false, ...io() })).toBe(0);
    expect(aptLog()).toEqual(["update -qq", "install -y -qq --no-install-recommends haproxy"]);
  });

  it("missing and not installable (no root, no sudo): one clear message, nothing run", () => {
    fakeApt();
    expect(ensurePrerequisites({ env: { PATH: dir }, isRoot: false, ...io() })).toBe(1);
    expect(err).toHaveLength(1);
    expect(err[0]).toContain("cannot install them");
    expect(err[0]).toContain("sudo apt-get install -y --no-install-recommends chromium prometheus haproxy");
    expect(() => aptLog()).toThrow();
  });

  it("missing and the archive unreachable (offline): one clear message naming the failed step", () => {
    fakeApt(100);
    expect(ensurePrerequisites({ env: { PATH: dir }, isRoot: true, ...io() })).toBe(1);
    expect(err).toHaveLength(1);
    expect(err[0]).toContain("`apt-get update -qq` failed: E: could not reach the archive");
    expect(aptLog()).toEqual(["update -qq"]);
  });
});
