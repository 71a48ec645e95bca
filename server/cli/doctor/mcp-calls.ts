/**
 * With a token: what an MCP client does once authorized — `server/discover` (MCP 2026-07-28) or, against a 2025-era
 * server, `initialize` — then `tools/list` and one tool call. Each refusal is told apart the way a client sees it:
 * 401 `invalid_token` (and a token for another audience, RFC 8707), 403 `insufficient_scope` or an Origin refusal,
 * 429, or a JSON-RPC error.
 */
import { call, challengeParams, describe, type Answer } from "./http.ts";
import { LEGACY_HEADERS, LEGACY_INITIALIZE, MODERN_HEADERS, legacyMessage, modernMessage, rpcAnswer } from "./mcp-wire.ts";
import type { Report } from "./report.ts";

export interface McpCallOptions {
  mcpUrl: URL;
  token?: string;
  /** `DPoP` and the like are not used: a bearer token or none. */
  origin?: string;
  /** Tool to call; default `whoami` when offered, else the first tool without required arguments. */
  tool?: string;
  report: Report;
}

type Era = "modern" | "legacy";

export async function checkMcpCalls(options: McpCallOptions): Promise<void> {
  const { mcpUrl, report } = options;
  const send = async (era: Era, method: string, params?: Record<string, unknown>): Promise<Answer> =>
    call(mcpUrl, {
      method: "POST",
      headers: {
        ...(era === "modern" ? MODERN_HEADERS(method, typeof params?.name === "string" ? params.name : undefined) : LEGACY_HEADERS()),
        ...(options.token ? { Authorization: `Bearer ${options.token}` } : {}),
        ...(options.origin ? { Origin: options.origin } : {}),
      },
      body: JSON.stringify(era === "modern" ? modernMessage(method, params) : legacyMessage(method, params)),
    });

  let era: Era = "modern";
  let answer = await send("modern", "server/discover");
  if (refused(answer, "mcp-discover", "server/discover (MCP 2026-07-28)", report)) return;
  let rpc = rpcAnswer(answer.text);
  if (answer.status === 200 && rpc?.result) {
    const versions = (rpc.result.supportedVersions as string[] | undefined)?.join(", ");
    report.pass("mcp-discover", "server/discover (MCP 2026-07-28)", versions ? `supports ${versions}` : undefined);
  } else {
    // A 2025-era server: the probe fails with a version error or 400/404; fall back to the initialize handshake.
    report.skip("mcp-discover", "server/discover (MCP 2026-07-28)", `not served (${describe(answer)}); trying 2025-11-25`);
    era = "legacy";
    answer = await call(mcpUrl, {
      method: "POST",
      headers: { ...LEGACY_HEADERS(), ...(options.token ? { Authorization: `Bearer ${options.token}` } : {}), ...(options.origin ? { Origin: options.origin } : {}) },
      body: JSON.stringify(LEGACY_INITIALIZE()),
    });
    if (refused(answer, "mcp-initialize", "initialize (MCP 2025-11-25)", report)) return;
    rpc = rpcAnswer(answer.text);
    if (!rpc?.result) {
      report.fail("mcp-initialize", "initialize (MCP 2025-11-25)", "mcp_error", describe(answer));
      return;
    }
    report.pass("mcp-initialize", "initialize (MCP 2025-11-25)", `protocol ${String(rpc.result.protocolVersion)}`);
  }

  answer = await send(era, "tools/list");
  if (refused(answer, "mcp-tools-list", "tools/list", report)) return;
  rpc = rpcAnswer(answer.text);
  const tools = (rpc?.result?.tools as Array<{ name: string; inputSchema?: { required?: string[] } }> | undefined) ?? undefined;
  if (!tools) {
    report.fail("mcp-tools-list", "tools/list", "mcp_error", describe(answer));
    return;
  }
  report.pass("mcp-tools-list", "tools/list", `${tools.length} tool${tools.length === 1 ? "" : "s"}`);

  const tool = options.tool ?? tools.find((t) => t.name === "whoami")?.name ?? tools.find((t) => !t.inputSchema?.required?.length)?.name;
  if (!tool) {
    report.skip("mcp-tools-call", "tools/call", "no tool callable without arguments (name one with --tool)");
    return;
  }
  answer = await send(era, "tools/call", { name: tool, arguments: {} });
  if (refused(answer, "mcp-tools-call", `tools/call ${tool}`, report)) return;
  rpc = rpcAnswer(answer.text);
  if (!rpc?.result) report.fail("mcp-tools-call", `tools/call ${tool}`, "mcp_error", describe(answer));
  else if (rpc.result.isError === true) report.warn("mcp-tools-call", `tools/call ${tool}`, undefined, "the tool answered with an error result");
  else report.pass("mcp-tools-call", `tools/call ${tool}`);
}

/** Reports an HTTP-level refusal (401/403/429/5xx); true when the answer was one. */
function refused(answer: Answer, id: string, title: string, report: Report): boolean {
  const challenge = challengeParams(answer.headers.get("www-authenticate"), "Bearer");
  if (answer.status === 401) {
    const description = challenge?.error_description ?? "";
    const audience = /audience|not issued for|resource/i.test(description);
    report.fail(id, title, audience ? "wrong_audience" : challenge?.error === "invalid_token" ? "invalid_token" : "challenge_stripped", describe(answer) + (description && !describe(answer).includes(description) ? `: ${description}` : ""));
    return true;
  }
  if (answer.status === 403) {
    if (challenge?.error === "insufficient_scope") report.fail(id, title, "insufficient_scope", `needs scope "${challenge.scope ?? "?"}"`);
    else report.fail(id, title, "origin_refused", describe(answer));
    return true;
  }
  if (answer.status === 429) {
    report.fail(id, title, "rate_limited", `429${answer.headers.get("retry-after") ? `, Retry-After ${answer.headers.get("retry-after")} s` : ""}`);
    return true;
  }
  if (answer.status >= 500) {
    report.fail(id, title, "mcp_error", describe(answer));
    return true;
  }
  return false;
}
