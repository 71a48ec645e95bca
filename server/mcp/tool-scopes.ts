/**
 * The scopes a tool call needs, checked before the call is served (MCP 2026-07-28 Authorization §"Scope Challenge
 * Handling"): a token without them gets 403 `insufficient_scope` naming, in one challenge, every scope the request's
 * calls need, so the client steps up once (it asks for the union of what it holds and what the challenge names).
 * Scope hierarchy is honoured (oauth/scopes.ts `scopeCovers`).
 *
 * A caller who could never hold a tool's scopes (admin tools for a person without the ADMIN role) is not challenged:
 * the tool is not in their `tools/list` and calling it answers "not found" like any unknown tool.
 */
import { missingScopes } from "../oauth/scopes.ts";
import type { McpCaller } from "./bearer.ts";
import { McpScope } from "./resources.ts";
import { tools } from "./tools/index.ts";
import type { ToolDefinition } from "./tools/types.ts";

const byName = new Map<string, ToolDefinition>(tools.map((tool) => [tool.name, tool]));

/** What calling `tool` takes. */
export function toolScopes(tool: Pick<ToolDefinition, "admin">): string[] {
  return tool.admin ? [McpScope.tools, McpScope.admin] : [McpScope.tools];
}

/**
 * Every scope the `tools/call` messages among `messages` need, when the caller's token lacks any of them and could
 * hold them; undefined when the token is enough.
 */
export function missingToolScopes(caller: McpCaller, messages: readonly unknown[]): string[] | undefined {
  let needed: Set<string> | undefined;
  let short = false;
  for (const message of messages) {
    const m = message as { method?: unknown; params?: { name?: unknown } } | null;
    if (m?.method !== "tools/call" || typeof m.params?.name !== "string") continue;
    const tool = byName.get(m.params.name);
    if (!tool || (tool.admin && caller.role !== "ADMIN")) continue;
    const scopes = toolScopes(tool);
    needed ??= new Set();
    for (const scope of scopes) needed.add(scope);
    if (missingScopes(caller.scopes, scopes).length > 0) short = true;
  }
  return short && needed ? [...needed] : undefined;
}
