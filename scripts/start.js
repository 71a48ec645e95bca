// `npm start`: builds the Remix app when the build is missing (a fresh clone after `npm ci`), then runs the
// TypeScript host in this same process (so signals reach it directly).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { register } from "tsx/esm/api";

if (!existsSync("build/index.js")) {
  console.log("No build found: running `remix build` first.");
  const result = spawnSync("npx", ["remix", "build"], { stdio: "inherit" });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
register();
await import("../server/main.ts");
