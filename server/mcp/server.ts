/**
 * The MCP server (protocol 2025-11-25, `@modelcontextprotocol/sdk` McpServer) and a pool of idle instances.
 *
 * Why a pool: an McpServer serves one transport at a time (`connect()` throws "Already connected") and a stateless
 * transport cannot be reused, so each HTTP request takes an idle server, connects a fresh transport, and gives the
 * server back afterwards. Building a server per request instead costs a zod -> JSON Schema conversion and a new
 * validator each time (stack notes: ~930 µs vs ~280 µs per call). One JSON Schema validator is shared by all.
 *
 * Two kinds of server: `user` (ordinary tools) and `admin` (ordinary + admin tools). A caller gets the admin kind only
 * with the `mcp:admin` scope and the ADMIN role, so nobody else ever sees admin tools in `tools/list`; every admin
 * tool re-checks both on each call anyway.
 */
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { AjvJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/ajv";
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import { DATABASE_UNAVAILABLE_TEXT, isDatabaseUnavailable, summariseError } from "../db/availability.ts";
import type { EventOrigin } from "../events.ts";
import { callerOf } from "./bearer.ts";
import { tools as allTools } from "./tools/index.ts";
import { ToolError, type ToolDefinition, type ToolServices } from "./tools/types.ts";

export type ServerKind = "user" | "admin";

export const SERVER_INFO = { name: "mcp-oauth-server", title: "MCP OAuth Server", version: "0.1.0" } as const;

const INSTRUCTIONS =
  "Tools for the person who authorized this connection: whoami shows who that is; list_connected_apps and " +
  "revoke_connected_app manage the apps they authorized. Administrators (mcp:admin scope) also get admin_* tools.";

export interface McpServerDeps {
  services: ToolServices;
  validator: AjvJsonSchemaValidator;
  tools?: ToolDefinition[];
}

/** Request facts the transports attach to `authInfo.extra`, for tools' events and logs. */
export interface RequestFacts {
  origin: EventOrigin;
  requestId?: string;
}

export function buildMcpServer(deps: McpServerDeps, kind: ServerKind): McpServer {
  const server = new McpServer(SERVER_INFO, {
    capabilities: { tools: { listChanged: false } },
    instructions: INSTRUCTIONS,
    jsonSchemaValidator: deps.validator,
  });
  for (const tool of deps.tools ?? allTools) {
    if (tool.admin && kind !== "admin") continue;
    server.registerTool(
      tool.name,
      { title: tool.title, description: tool.description, inputSchema: tool.inputSchema, annotations: tool.annotations },
      (args: Record<string, unknown>, extra: { authInfo?: AuthInfo; signal: AbortSignal }) =>
        runTool(deps.services, tool, args, extra),
    );
  }
  return server;
}

async function runTool(
  services: ToolServices,
  tool: ToolDefinition,
  args: Record<string, unknown>,
  extra: { authInfo?: AuthInfo; signal: AbortSignal },
): Promise<CallToolResult> {
  const caller = callerOf(extra.authInfo);
  const facts = extra.authInfo?.extra?.facts as RequestFacts | undefined;
  // The transports put the verified caller's client and user in `facts.origin` already.
  const origin: EventOrigin = facts?.origin ?? { clientId: caller?.clientDbId ?? null, userId: caller?.userId ?? null };
  const started = performance.now();
  if (!caller) {
    toolCalled(services, origin, tool, "denied", started);
    return errorResult("Not authenticated");
  }
  try {
    const result = await tool.handler(args, { services, caller, origin, signal: extra.signal });
    toolCalled(services, origin, tool, "ok", started);
    return { content: [{ type: "text", text: JSON.stringify(result, null, 2) }], structuredContent: result };
  } catch (error) {
    if (error instanceof ToolError) {
      toolCalled(services, origin, tool, error.outcome, started);
      return errorResult(error.message);
    }
    toolCalled(services, origin, tool, "error", started);
    if (isDatabaseUnavailable(error)) {
      // MCP: a tool's failure is reported in its result (isError), not as an HTTP or protocol error.
      services.log.warn({ err: summariseError(error), tool: tool.name, requestId: facts?.requestId }, "MCP tool: database unavailable");
      return errorResult(DATABASE_UNAVAILABLE_TEXT);
    }
    services.log.error({ err: error, tool: tool.name, requestId: facts?.requestId }, "MCP tool failed");
    // Never leak internals (SQL, stack traces) to the client.
    return errorResult(`Internal error while running ${tool.name}${facts?.requestId ? ` (request id ${facts.requestId})` : ""}`);
  }
}

function toolCalled(services: ToolServices, origin: EventOrigin, tool: ToolDefinition, outcome: "ok" | "error" | "denied", started: number): void {
  services.events.emit("mcp.tool.called", {
    ip: origin.ip,
    userAgent: origin.userAgent,
    clientId: origin.clientId,
    userId: origin.userId,
    tool: tool.name,
    outcome,
    durationMs: performance.now() - started,
  });
}

function errorResult(text: string): CallToolResult {
  return { content: [{ type: "text", text }], isError: true };
}

/** Idle McpServer instances per kind; a server that fails or handled `initialize` is not reused. */
export class McpServerPool {
  private readonly idle: Record<ServerKind, McpServer[]> = { user: [], admin: [] };
  readonly deps: McpServerDeps;

  constructor(
    services: ToolServices,
    private readonly maxIdle = 64,
    tools?: ToolDefinition[],
  ) {
    // One validator (and its compiled-schema cache) for every server: building Ajv per server is the hot spot.
    this.deps = { services, validator: new AjvJsonSchemaValidator(), tools };
  }

  acquire(kind: ServerKind): McpServer {
    return this.idle[kind].pop() ?? buildMcpServer(this.deps, kind);
  }

  /** Returns a server whose transport was closed; `reusable: false` drops it. */
  release(kind: ServerKind, server: McpServer, reusable: boolean): void {
    if (!reusable || server.isConnected() || this.idle[kind].length >= this.maxIdle) return;
    this.idle[kind].push(server);
  }

  get idleCount(): number {
    return this.idle.user.length + this.idle.admin.length;
  }
}
