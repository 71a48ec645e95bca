/**
 * The scopes a tool call needs (each tool declares its own, server/mcp/tools), checked before the call is served
 * (MCP 2026-07-28 Authorization §"Scope Challenge Handling"): a token without them gets 403 `insufficient_scope`
 * whose `scope` names, in one challenge, every scope the client now needs — the scopes it holds and those the
 * request's calls need — so it steps up once (SEP-2350). Scope hierarchy is honoured (oauth/scopes.ts).
 *
 * A caller who could never hold a tool's scopes (admin tools for a person without the ADMIN role) is not challenged:
 * the tool is not in their `tools/list` and calling it answers "not found" like any unknown tool.
 */
import { ENDPOINT_SCOPES, formatScope, missingScopes, parseScope, scopeCovers } from "../oauth/scopes.ts";
import type { McpCaller } from "./bearer.ts";
import { tools } from "./tools/index.ts";
import type { ToolDefinition } from "./tools/types.ts";

const byName = new Map<string, ToolDefinition>(tools.map((tool) => [tool.name, tool]));

/**
 * When the `tools/call` messages among `messages` need scopes the caller's token lacks (and could hold): every scope
 * the client now needs, canonical; undefined when the token is enough.
 */
export function missingToolScopes(caller: McpCaller, messages: readonly unknown[]): string[] | undefined {
  const needed = new Set<string>();
  let short = false;
  for (const message of messages) {
    const m = message as { method?: unknown; params?: { name?: unknown } } | null;
    if (m?.method !== "tools/call" || typeof m.params?.name !== "string") continue;
    const tool = byName.get(m.params.name);
    if (!tool || (tool.admin && caller.role !== "ADMIN")) continue;
    for (const scope of tool.scopes) needed.add(scope);
    if (missingScopes(caller.scopes, tool.scopes).length > 0) short = true;
  }
  return short ? parseScope(formatScope([...caller.scopes, ...ENDPOINT_SCOPES, ...needed])) : undefined;
}

/** The tools a scope lets a client call (for the consent page: "needed by …"). */
export function toolsNeeding(scope: string): string[] {
  return tools.filter((tool) => tool.scopes.some((needed) => scopeCovers(scope, needed))).map((tool) => tool.name);
}
