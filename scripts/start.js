// `npm start`: runs the bundled host, build/server/main.js (ADR 0012), in this same process (so signals reach it
// directly). A fresh clone after `npm ci` has no build yet: the Remix app is built when build/index.js is missing,
// and the host is bundled when its bundle is missing or older than the sources under server/ (about half a second).
// Build progress goes to stderr: stdout carries only the server's JSON log lines.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { buildServer, serverBundle, serverBundleStale } from "./build-server.js";

if (!existsSync("build/index.js")) {
  console.error("No build found: running `remix build` first.");
  const result = spawnSync("npx", ["remix", "build"], { stdio: ["inherit", process.stderr, "inherit"] });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
if (serverBundleStale()) {
  console.error(`Bundling the server into ${serverBundle}.`);
  await buildServer();
}
await import(pathToFileURL(serverBundle).href);
