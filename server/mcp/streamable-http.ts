/**
 * `POST|GET|DELETE /mcp/mcp`: MCP Streamable HTTP (MCP 2025-11-25 Transports) behind the bearer check.
 *
 * Pipeline: bearer check (RFC 6750; scope `mcp:tools`) -> per-client rate limit -> session check (MCP_SESSIONS)
 * -> step-up for admin tools (403 `insufficient_scope`) -> a pooled McpServer on a fresh stateless SDK transport
 * with JSON responses. Any node can answer any request: no MCP state outlives the request (ADR: MCP transports).
 *
 * GET answers 405: this server never sends unsolicited messages, and the specification lets a server without a
 * standalone stream say so (Transports §"Listening for Messages from the Server").
 */
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import type { DomainEventBus, EventOrigin } from "../events.ts";
import type { Logger } from "../logger.ts";
import type { Env } from "../env.ts";
import type { RateLimits } from "../http/rate-limit.ts";
import { rejectionResponse } from "../http/rate-limit.ts";
import type { RequestMeta } from "../http/request-context.ts";
import { callerKey, failureResponse, toAuthInfo, type BearerAuth, type McpCaller } from "./bearer.ts";
import { McpScope } from "./resources.ts";
import type { McpServerPool, RequestFacts } from "./server.ts";
import { SessionStore } from "./sessions.ts";
import { callerIsAdmin } from "./tools/admin-guard.ts";

export interface StreamableHttpDeps {
  env: Env;
  log: Logger;
  events: DomainEventBus;
  bearer: BearerAuth;
  rateLimits: RateLimits;
  pool: McpServerPool;
  sessions: SessionStore;
  adminToolNames: ReadonlySet<string>;
}

const JSON_HEADERS = { "Content-Type": "application/json", "Cache-Control": "no-store" };
const TOOLS_SCOPE = [McpScope.tools] as const;

/** A JSON-RPC error answered at the HTTP level (the SDK's shape: `id: null`). */
export function jsonRpcError(status: number, code: number, message: string, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ jsonrpc: "2.0", error: { code, message }, id: null }), {
    status,
    headers: { ...JSON_HEADERS, ...headers },
  });
}

export function originOf(meta: RequestMeta): EventOrigin {
  return { ip: meta.ip, userAgent: meta.userAgent, clientId: meta.clientId ?? null, userId: meta.userId ?? null };
}

export class StreamableHttpEndpoint {
  constructor(private readonly deps: StreamableHttpDeps) {}

  /** Handles one request; `parsedBody` skips reading the body when the host already parsed it. */
  async handle(request: Request, meta: RequestMeta, parsedBody?: unknown): Promise<Response> {
    const method = request.method;
    if (method !== "POST" && method !== "GET" && method !== "DELETE") {
      return this.respond(meta, "none", jsonRpcError(405, -32000, "Method not allowed", { Allow: "GET, POST, DELETE" }));
    }
    const { headers } = request;
    const checked = this.deps.bearer.authenticate({
      authorization: headers.get("authorization"),
      url: request.url,
      endpoint: "mcp",
      requiredScopes: TOOLS_SCOPE,
      origin: originOf(meta),
    });
    // A cached token is checked synchronously: no await (and no turn of the microtask queue) on the hot path.
    const auth = checked instanceof Promise ? await checked : checked;
    const label = method === "GET" ? "stream" : method === "DELETE" ? "session/delete" : "none";
    if (!auth.ok) {
      meta.oauthError = auth.failure.error ?? null;
      return this.respond(meta, label, failureResponse(auth.failure));
    }
    const { caller } = auth;
    meta.clientId = caller.clientDbId;
    meta.userId = caller.userId;
    // From here on every event names the verified client and user.
    const origin = originOf(meta);
    const limited = await this.deps.rateLimits.consume("mcp", "client", callerKey(caller), origin);
    if (limited) {
      meta.oauthError = "rate_limit_exceeded";
      return this.respond(meta, label, rejectionResponse(limited));
    }

    const sessionId = headers.get("mcp-session-id");
    if (method === "GET") {
      return this.respond(meta, label, jsonRpcError(405, -32000, "This server offers no standalone SSE stream", { Allow: "POST, DELETE" }));
    }
    if (method === "DELETE") return this.respond(meta, label, await this.endSession(sessionId, caller, origin));

    let body = parsedBody;
    if (body === undefined) {
      try {
        body = JSON.parse(await request.text());
      } catch {
        return this.respond(meta, label, jsonRpcError(400, -32700, "Parse error: Invalid JSON"));
      }
    }
    const batch = Array.isArray(body);
    const bodyLabel = batch ? "batch" : methodOf(body) ?? "none";
    // The transport validates the message itself; a method check is enough here (a zod parse per request is not).
    const initializing = batch ? (body as unknown[]).some(isInitialize) : isInitialize(body);

    let sessionHeader: string | null = null;
    if (this.deps.env.MCP_SESSIONS && sessionId && !initializing) {
      if (!(await this.sessionBelongsTo(sessionId, caller, origin))) return this.respond(meta, bodyLabel, sessionNotFound());
      sessionHeader = sessionId;
    }

    const admin = callerIsAdmin(caller);
    if (!admin && caller.role === "ADMIN" && this.callsAdminTool(body)) {
      // An administrator whose token lacks mcp:admin: tell the client which scope to ask for (step-up).
      const stepUp = this.deps.bearer.insufficientScope("mcp", [McpScope.tools, McpScope.admin]);
      if (!stepUp.ok) {
        meta.oauthError = "insufficient_scope";
        return this.respond(meta, bodyLabel, failureResponse(stepUp.failure));
      }
    }

    const response = await this.serve(request, body, caller, admin, { origin, requestId: meta.requestId }, initializing);
    if (initializing && this.deps.env.MCP_SESSIONS && response.status === 200) {
      sessionHeader = await this.openSession(caller);
    }
    if (sessionHeader) response.headers.set("Mcp-Session-Id", sessionHeader);
    return this.respond(meta, bodyLabel, response);
  }

  /** Every answer is counted (`mcp.request`) under the JSON-RPC method it was for. */
  private respond(meta: RequestMeta, method: string, response: Response): Response {
    this.deps.events.emit("mcp.request", {
      ip: meta.ip,
      userAgent: meta.userAgent,
      clientId: meta.clientId ?? null,
      userId: meta.userId ?? null,
      transport: "streamable-http",
      method,
      status: response.status,
    });
    return response;
  }

  private async serve(
    request: Request,
    body: unknown,
    caller: McpCaller,
    admin: boolean,
    facts: RequestFacts,
    initializing: boolean,
  ): Promise<Response> {
    const kind = admin ? "admin" : "user";
    const { pool } = this.deps;
    const server = pool.acquire(kind);
    const transport = new WebStandardStreamableHTTPServerTransport({ enableJsonResponse: true });
    // A server that handled `initialize` remembers that client's capabilities: never hand it to someone else.
    let reusable = !initializing;
    const authInfo = toAuthInfo(caller, facts);
    try {
      await server.connect(transport);
      return await transport.handleRequest(request, { parsedBody: body, authInfo });
    } catch (error) {
      reusable = false;
      this.deps.log.error({ err: error, requestId: facts.requestId }, "MCP request failed");
      return jsonRpcError(500, -32603, "Internal error");
    } finally {
      // close() detaches the transport synchronously; the server can serve the next request at once.
      server.close().catch(() => {});
      pool.release(kind, server, reusable && !server.isConnected());
    }
  }

  private callsAdminTool(body: unknown): boolean {
    const messages = Array.isArray(body) ? body : [body];
    return messages.some((m) => {
      const message = m as { method?: unknown; params?: { name?: unknown } } | null;
      return message?.method === "tools/call" && typeof message.params?.name === "string" && this.deps.adminToolNames.has(message.params.name);
    });
  }

  private async openSession(caller: McpCaller): Promise<string> {
    const id = SessionStore.newId();
    await this.sessions.create(id, { userId: caller.userId, clientDbId: caller.clientDbId, createdAt: Date.now() });
    return id;
  }

  private get sessions(): SessionStore {
    return this.deps.sessions;
  }

  /** A session is usable only by the user and client that opened it. */
  private async sessionBelongsTo(sessionId: string, caller: McpCaller, origin: EventOrigin): Promise<boolean> {
    if (sessionId.length > 128) return false;
    const record = await this.sessions.get(sessionId);
    if (!record) return false;
    if (record.userId === caller.userId && record.clientDbId === caller.clientDbId) return true;
    this.deps.events.security({
      ...origin,
      type: "SUSPICIOUS_ACTIVITY",
      severity: "medium",
      details: { reason: "mcp_session_of_another_caller" },
    });
    return false;
  }

  private async endSession(sessionId: string | null, caller: McpCaller, origin: EventOrigin): Promise<Response> {
    if (!this.deps.env.MCP_SESSIONS) return jsonRpcError(405, -32000, "This server runs without sessions", { Allow: "POST" });
    if (!sessionId) return jsonRpcError(400, -32000, "Bad Request: Mcp-Session-Id header is required");
    if (!(await this.sessionBelongsTo(sessionId, caller, origin))) return sessionNotFound();
    await this.sessions.delete(sessionId);
    return new Response(null, { status: 200 });
  }
}

/** MCP Transports: an unknown or ended session is a 404, after which the client starts a new one. */
function sessionNotFound(): Response {
  return jsonRpcError(404, -32001, "Session not found");
}

function isInitialize(message: unknown): boolean {
  return (message as { method?: unknown } | null)?.method === "initialize";
}

function methodOf(message: unknown): string | undefined {
  const method = (message as { method?: unknown } | null)?.method;
  return typeof method === "string" ? method.slice(0, 100) : undefined;
}
