/**
 * What the host's input guard (server/http/input-guard.ts) costs per request, next to anchors measured in the same
 * run: the JSON.parse and UTF-8 decoding the MCP endpoint does anyway for the same body, and Node's own
 * `URLSearchParams` on the same form. Pure functions in a loop (no server): medians of ROUNDS rounds.
 *
 *   npx tsx bench/input-guard.ts
 *
 * Environment: BENCH_ITERATIONS (200000 per round), BENCH_ROUNDS (5).
 */
import { bodyProblem, headerProblem, targetProblem } from "../server/http/input-guard.ts";
import { median } from "./lib.ts";

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 200_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

const mcpCall = Buffer.from(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "whoami", arguments: {} } }));
const tokenForm = Buffer.from(
  `grant_type=authorization_code&code=mcpac_${"a".repeat(43)}&code_verifier=${"v".repeat(43)}&client_id=mcpc_0123456789abcdef&redirect_uri=${encodeURIComponent("http://127.0.0.1:8976/callback")}`,
);
const escapedJson = Buffer.from(JSON.stringify({ client_name: "Zoë \u00e9\u00e8", contacts: ["a@example.com"], redirect_uris: ["https://a.example/cb"], note: "\u0001".repeat(20) + "x".repeat(2000) }));
const rawHeaders = [
  "Host", "127.0.0.1:3000", "Content-Type", "application/json", "Accept", "application/json, text/event-stream",
  "Authorization", `Bearer mcpat_${"x".repeat(43)}`, "Content-Length", String(mcpCall.length), "User-Agent", "bench",
  "MCP-Protocol-Version", "2025-06-18", "Connection", "keep-alive",
];
const authorizeTarget = `/oauth/authorize?response_type=code&client_id=mcpc_0123456789abcdef&redirect_uri=${encodeURIComponent("http://127.0.0.1:8976/callback")}&code_challenge=${"c".repeat(43)}&code_challenge_method=S256&state=xyz&scope=mcp%3Atools`;

const cases: Array<[string, () => unknown]> = [
  ["anchor: JSON.parse(MCP tools/call body)", () => JSON.parse(mcpCall.toString("utf8"))],
  ["anchor: new URLSearchParams(token form)", () => new URLSearchParams(tokenForm.toString("utf8"))],
  ["targetProblem(/mcp/mcp)", () => targetProblem("/mcp/mcp")],
  ["targetProblem(authorize URL, 7 params)", () => targetProblem(authorizeTarget)],
  ["headerProblem(8 headers)", () => headerProblem(rawHeaders)],
  ["bodyProblem(MCP tools/call JSON)", () => bodyProblem(mcpCall, "application/json")],
  ["bodyProblem(token form)", () => bodyProblem(tokenForm, "application/x-www-form-urlencoded")],
  ["bodyProblem(2 KB JSON with \\u escapes: parsed)", () => bodyProblem(escapedJson, "application/json")],
];

let sink = 0;
const rows: Array<{ case: string; "ns/op (median)": number }> = [];
for (const [name, fn] of cases) {
  const perRound: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < ITERATIONS; i += 1) if (fn()) sink += 1;
    perRound.push(Number(process.hrtime.bigint() - started) / ITERATIONS);
  }
  rows.push({ case: name, "ns/op (median)": Math.round(median(perRound)) });
}
console.table(rows);
if (sink < 0) console.log(sink);
