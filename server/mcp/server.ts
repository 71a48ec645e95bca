/**
 * The MCP server (`@modelcontextprotocol/server`, the SDK's v2 line): one definition of the tools, served at both
 * protocol generations (MCP 2026-07-28 and the 2025 revisions back to 2024-11-05).
 *
 * How requests reach it (ADR 0013):
 * - the hot path: four long-lived connections (user/admin tools × modern/2025 era), each one McpServer serving many
 *   requests at once (connection.ts). Building a server per request, as the SDK's examples do, costs a zod → JSON
 *   Schema conversion and a validator per call, and the per-request transport's connect/close cycle costs more;
 * - everything else, with a fresh server per request, so the SDK answers every edge of both wires itself: 2026
 *   requests go to the SDK's own entry (`createMcpHandler`, modern only), 2025-era ones (`initialize`,
 *   notifications, batches, odd headers) to the SDK's stateless Streamable HTTP transport with JSON answers — the
 *   composition the SDK documents for keeping a 2025 leg of one's own (`isLegacyRequest` in front of a strict entry).
 *
 * Two kinds of server: `user` (ordinary tools) and `admin` (ordinary + admin tools). A caller gets the admin kind only
 * with the `mcp:admin` scope and the ADMIN role, so nobody else ever sees admin tools in `tools/list`; every admin
 * tool re-checks both on each call anyway.
 */
import {
  createMcpHandler,
  McpServer,
  WebStandardStreamableHTTPServerTransport,
  SUPPORTED_PROTOCOL_VERSIONS,
  type AuthInfo,
  type CallToolResult,
  type McpHttpHandler,
  type ServerContext,
} from "@modelcontextprotocol/server";
import { AjvJsonSchemaValidator } from "@modelcontextprotocol/server/validators/ajv";
import { z } from "zod";
import { DATABASE_UNAVAILABLE_TEXT, isDatabaseUnavailable, summariseError } from "../db/availability.ts";
import type { EventOrigin } from "../events.ts";
import { callerOf } from "./bearer.ts";
import { McpConnection } from "./connection.ts";
import { callerIsAdmin } from "./tools/admin-guard.ts";
import { tools as allTools } from "./tools/index.ts";
import { ToolError, type ToolDefinition, type ToolServices } from "./tools/types.ts";

export type ServerKind = "user" | "admin";
export type Era = "modern" | "legacy";

export const SERVER_INFO = { name: "mcp-oauth-server", title: "MCP OAuth Server", version: "0.2.0" } as const;

/** The 2026 revisions this server speaks (MCP 2026-07-28 §Versioning); the SDK's list holds the 2025-era ones. */
export const MODERN_REVISIONS = ["2026-07-28"] as const;
export const LEGACY_REVISIONS: readonly string[] = SUPPORTED_PROTOCOL_VERSIONS;

const INSTRUCTIONS =
  "Tools for the person who authorized this connection: whoami shows who that is; list_connected_apps and " +
  "revoke_connected_app manage the apps they authorized. Administrators (mcp:admin scope) also get admin_* tools.";

/**
 * MCP 2026-07-28 §Caching: list and discover results carry `ttlMs` and `cacheScope`. The tool list depends on the
 * caller (admin tools), so it is private; what `server/discover` says is the same for everyone.
 */
const CACHE_HINTS = {
  "tools/list": { ttlMs: 300_000, cacheScope: "private" },
  "server/discover": { ttlMs: 300_000, cacheScope: "public" },
} as const;

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
    supportedProtocolVersions: [...MODERN_REVISIONS, ...LEGACY_REVISIONS],
    cacheHints: CACHE_HINTS,
  });
  for (const tool of deps.tools ?? allTools) {
    if (tool.admin && kind !== "admin") continue;
    server.registerTool(
      tool.name,
      { title: tool.title, description: tool.description, inputSchema: inputSchemaOf(tool), annotations: tool.annotations },
      (args: Record<string, unknown>, ctx: ServerContext) => runTool(deps.services, tool, args, ctx),
    );
  }
  return server;
}

const inputSchemas = new WeakMap<ToolDefinition, z.ZodObject>();

/** A tool's arguments as one zod object (a Standard Schema with JSON Schema, what the SDK takes), built once. */
function inputSchemaOf(tool: ToolDefinition): z.ZodObject {
  let schema = inputSchemas.get(tool);
  if (!schema) {
    schema = z.object(tool.inputSchema);
    inputSchemas.set(tool, schema);
  }
  return schema;
}

async function runTool(services: ToolServices, tool: ToolDefinition, args: Record<string, unknown>, ctx: ServerContext): Promise<CallToolResult> {
  const authInfo = ctx.http?.authInfo;
  const caller = callerOf(authInfo);
  const facts = authInfo?.extra?.facts as RequestFacts | undefined;
  // The transports put the verified caller's client and user in `facts.origin` already.
  const origin: EventOrigin = facts?.origin ?? { clientId: caller?.clientDbId ?? null, userId: caller?.userId ?? null };
  const started = performance.now();
  if (!caller) {
    toolCalled(services, origin, tool, "denied", started);
    return errorResult("Not authenticated");
  }
  try {
    const result = await tool.handler(args, { services, caller, origin, signal: ctx.mcpReq.signal });
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

/**
 * The servers of this node: a long-lived connection per server kind and era (the hot path), and the SDK's
 * per-request entry for everything else. One JSON Schema validator (and its compiled-schema cache) for all.
 */
export class McpServers {
  readonly deps: McpServerDeps;
  /** The SDK's entry for 2026 requests (`createMcpHandler`, `legacy: 'reject'`): a fresh server per request. */
  readonly modern: McpHttpHandler;
  private readonly connections = new Map<string, Promise<McpConnection>>();

  constructor(services: ToolServices, tools?: ToolDefinition[]) {
    this.deps = { services, validator: new AjvJsonSchemaValidator(), tools };
    this.modern = createMcpHandler(({ authInfo }) => buildMcpServer(this.deps, kindOf(authInfo)), {
      legacy: "reject",
      // The entry reports each request it refuses (a client error, answered already) through here.
      onerror: (error) => services.log.debug({ err: error }, "MCP request refused by the SDK entry"),
    });
  }

  /** A 2025-era request on a fresh server and a stateless SDK transport, answered with JSON (no event stream). */
  async legacy(request: Request, parsedBody: unknown, authInfo: AuthInfo): Promise<Response> {
    const server = buildMcpServer(this.deps, kindOf(authInfo));
    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    await server.connect(transport);
    try {
      return await transport.handleRequest(request, { parsedBody, authInfo });
    } finally {
      void server.close().catch(() => {});
    }
  }

  /** The connection for this kind of caller at this era (opened on first use). */
  connection(kind: ServerKind, era: Era): Promise<McpConnection> {
    const key = `${kind}:${era}`;
    let connection = this.connections.get(key);
    if (!connection) {
      connection = McpConnection.open(buildMcpServer(this.deps, kind), era === "modern" ? MODERN_REVISIONS[0] : undefined);
      this.connections.set(key, connection);
    }
    return connection;
  }

  async close(): Promise<void> {
    const open = [...this.connections.values()];
    this.connections.clear();
    await Promise.all(open.map(async (c) => (await c).close().catch(() => {})));
    await this.modern.close();
  }
}

/** Which tools a caller's server offers (from the verified token). */
export function kindOf(authInfo: AuthInfo | undefined): ServerKind {
  const caller = callerOf(authInfo);
  return caller && callerIsAdmin(caller) ? "admin" : "user";
}
