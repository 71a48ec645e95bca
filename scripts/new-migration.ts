// `npm run db:new-migration <name>`: writes prisma/migrations/<timestamp>_<name>/migration.sql with the SQL that
// turns the schema as of the newest migration (taken from git) into the current prisma/schema.prisma. Runs offline
// (Prisma 6 CLI, WebAssembly schema engine; docs/decisions/0002-prisma-offline.md).
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

const name = process.argv[2];
if (!name || !/^[a-z0-9_]+$/.test(name)) {
  console.error("Usage: npm run db:new-migration <snake_case_name>");
  process.exit(1);
}
const dir = "prisma/migrations";
const latest = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort().at(-1);
const prisma = (args: string[]) => execFileSync("npx", ["prisma", ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });

let from = ["--from-empty"];
if (latest) {
  const commit = execFileSync("git", ["log", "-1", "--format=%H", "--", `${dir}/${latest}`], { encoding: "utf8" }).trim();
  if (!commit) {
    console.error(`Commit ${dir}/${latest} first: its schema is read from git.`);
    process.exit(1);
  }
  const previous = path.join(mkdtempSync(path.join(os.tmpdir(), "schema-")), "schema.prisma");
  writeFileSync(previous, execFileSync("git", ["show", `${commit}:prisma/schema.prisma`], { encoding: "utf8" }));
  from = ["--from-schema-datamodel", previous];
}
const sql = prisma(["migrate", "diff", ...from, "--to-schema-datamodel", "prisma/schema.prisma", "--script"]);
if (!/\b(CREATE|ALTER|DROP)\b/.test(sql)) {
  console.log("No schema changes since the newest migration.");
  process.exit(0);
}
const stamp = new Date().toISOString().replace(/\D/g, "").slice(0, 14);
const target = path.join(dir, `${stamp}_${name}`);
mkdirSync(target, { recursive: true });
writeFileSync(path.join(target, "migration.sql"), sql);
console.log(`Wrote ${target}/migration.sql`);
