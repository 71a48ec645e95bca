/**
 * `POST|GET|DELETE /mcp/mcp`: MCP Streamable HTTP at both protocol generations on one URL (MCP 2026-07-28 and
 * 2025-11-25 Transports), behind the bearer check.
 *
 * Pipeline: bearer check (RFC 6750; scope `mcp:tools`) -> per-client rate limit -> GET/DELETE (405, or ending a
 * 2025-era session) -> parse -> lane (wire.ts: a long-lived connection, or the SDK's entry) -> 2025-era session check
 * (MCP_SESSIONS) -> scope check of the tools called (403 `insufficient_scope` naming every scope needed, MCP
 * 2026-07-28 Authorization §Scope Challenge Handling) -> serve. Any node can answer any request: no MCP state outlives
 * the request (ADR 0010, ADR 0013).
 *
 * GET and DELETE answer 405 (2026-07-28 Streamable HTTP has neither; a 2025-era server without a standalone stream
 * may say so, Transports §"Listening for Messages from the Server"), except DELETE of a 2025-era session when
 * MCP_SESSIONS is on.
 */
import type { IncomingHttpHeaders } from "node:http";
import type { EventOrigin } from "../events.ts";
import type { Env } from "../env.ts";
import type { DomainEventBus } from "../events.ts";
import type { Logger } from "../logger.ts";
import type { RateLimits } from "../request/rate-limit.ts";
import { rejectionResponse } from "../request/rate-limit.ts";
import type { RequestMeta } from "../request/meta.ts";
import { callerKey, failureResponse, toAuthInfo, type BearerAuth, type McpCaller } from "./bearer.ts";
import { ENDPOINT_SCOPES } from "../oauth/scopes.ts";
import { kindOf, type Era, type McpServers, type RequestFacts } from "./server.ts";
import { SessionStore } from "./sessions.ts";
import { missingToolScopes } from "./tool-scopes.ts";
import { chooseLane } from "./wire.ts";

export interface StreamableHttpDeps {
  env: Env;
  log: Logger;
  events: DomainEventBus;
  bearer: BearerAuth;
  rateLimits: RateLimits;
  servers: McpServers;
  sessions: SessionStore;
}

/** One HTTP request to the endpoint, as the host read it (no Fetch objects on the hot path). */
export interface McpHttpRequest {
  method: string;
  /** Absolute URL. */
  url: string;
  headers: IncomingHttpHeaders;
  /** The POST body parsed as JSON; `undefined` when there was none or it did not parse. */
  body?: unknown;
}

/** A JSON answer (`body` already serialised), or the SDK entry's own Response. */
export type McpReply = { status: number; headers: Record<string, string>; body: string } | Response;

const JSON_HEADERS = { "Content-Type": "application/json", "Cache-Control": "no-store" };

/** A JSON-RPC error answered at the HTTP level (the SDK's shape: `id: null`). */
export function jsonRpcError(status: number, code: number, message: string, headers: Record<string, string> = {}): McpReply {
  return { status, headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify({ jsonrpc: "2.0", error: { code, message }, id: null }) };
}

export function originOf(meta: RequestMeta): EventOrigin {
  return { ip: meta.ip, userAgent: meta.userAgent, clientId: meta.clientId ?? null, userId: meta.userId ?? null };
}

export class StreamableHttpEndpoint {
  constructor(private readonly deps: StreamableHttpDeps) {}

  async handle(request: McpHttpRequest, meta: RequestMeta): Promise<McpReply> {
    const { method, headers } = request;
    if (method !== "POST" && method !== "GET" && method !== "DELETE") {
      return this.respond(meta, "none", jsonRpcError(405, -32000, "Method not allowed", { Allow: this.allowed }));
    }
    const checked = this.deps.bearer.authenticate({
      authorization: headers.authorization,
      url: request.url,
      endpoint: "mcp",
      requiredScopes: ENDPOINT_SCOPES,
      origin: originOf(meta),
      dpop: { proofs: dpopProofs(headers), method, url: request.url },
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

    const sessionId = header(headers, "mcp-session-id");
    if (method === "GET") return this.respond(meta, label, jsonRpcError(405, -32000, "This server offers no standalone SSE stream", { Allow: this.allowed }));
    if (method === "DELETE") return this.respond(meta, label, await this.endSession(sessionId, caller, origin));

    const { body } = request;
    if (body === undefined) return this.respond(meta, label, jsonRpcError(400, -32700, "Parse error: Invalid JSON"));
    const messages: unknown[] = Array.isArray(body) ? body : [body];
    const bodyLabel = Array.isArray(body) ? "batch" : (methodOf(body) ?? "none");
    const lane = chooseLane(headers, body);
    const initializing = messages.some(isInitialize);

    // 2025-era sessions only: MCP 2026-07-28 has none, and a modern request's Mcp-Session-Id is ignored.
    let sessionHeader: string | undefined;
    if (this.deps.env.MCP_SESSIONS && sessionId && !initializing && lane.era !== "modern") {
      if (!(await this.sessionBelongsTo(sessionId, caller, origin))) return this.respond(meta, bodyLabel, sessionNotFound());
      sessionHeader = sessionId;
    }

    const missing = missingToolScopes(caller, messages);
    if (missing) {
      meta.oauthError = "insufficient_scope";
      const stepUp = this.deps.bearer.insufficientScope("mcp", missing);
      if (!stepUp.ok) return this.respond(meta, bodyLabel, failureResponse(stepUp.failure));
    }

    const facts: RequestFacts = { origin, requestId: meta.requestId };
    const authInfo = toAuthInfo(caller, facts);
    let reply: McpReply;
    if (lane.lane === "connection") {
      const connection = await this.deps.servers.connection(kindOf(authInfo), lane.era);
      const answer = await connection.dispatch(lane.request, authInfo);
      reply = { status: answer.status, headers: JSON_HEADERS, body: JSON.stringify(answer.message) };
    } else {
      reply = await this.viaSdk(request, lane.era, authInfo);
    }
    if (initializing && this.deps.env.MCP_SESSIONS && reply.status === 200) sessionHeader = await this.openSession(caller);
    if (sessionHeader) reply = withHeader(reply, "Mcp-Session-Id", sessionHeader);
    return this.respond(meta, bodyLabel, reply);
  }

  /** The SDK answers what the hot path does not take; it gets the body already parsed. */
  private async viaSdk(request: McpHttpRequest, era: Era, authInfo: ReturnType<typeof toAuthInfo>): Promise<McpReply> {
    const fetchHeaders = new Headers();
    for (const [name, value] of Object.entries(request.headers)) {
      if (value === undefined) continue;
      for (const item of Array.isArray(value) ? value : [value]) fetchHeaders.append(name, item);
    }
    const fetchRequest = new Request(request.url, { method: request.method, headers: fetchHeaders });
    try {
      const { servers } = this.deps;
      if (era === "legacy") return await servers.legacy(fetchRequest, request.body, authInfo);
      return await servers.modern.fetch(fetchRequest, { parsedBody: request.body, authInfo });
    } catch (error) {
      this.deps.log.error({ err: error }, "MCP request failed");
      return jsonRpcError(500, -32603, "Internal error");
    }
  }

  private get allowed(): string {
    return this.deps.env.MCP_SESSIONS ? "POST, DELETE" : "POST";
  }

  /** Every answer is counted (`mcp.request`) under the JSON-RPC method it was for. */
  private respond(meta: RequestMeta, method: string, reply: McpReply): McpReply {
    this.deps.events.emit("mcp.request", {
      ip: meta.ip,
      userAgent: meta.userAgent,
      clientId: meta.clientId ?? null,
      userId: meta.userId ?? null,
      transport: "streamable-http",
      method,
      status: reply.status,
    });
    return reply;
  }

  private async openSession(caller: McpCaller): Promise<string> {
    const id = SessionStore.newId();
    await this.deps.sessions.create(id, { userId: caller.userId, clientDbId: caller.clientDbId, createdAt: Date.now() });
    return id;
  }

  /** A session is usable only by the user and client that opened it. */
  private async sessionBelongsTo(sessionId: string, caller: McpCaller, origin: EventOrigin): Promise<boolean> {
    if (sessionId.length > 128) return false;
    const record = await this.deps.sessions.get(sessionId);
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

  private async endSession(sessionId: string | undefined, caller: McpCaller, origin: EventOrigin): Promise<McpReply> {
    if (!this.deps.env.MCP_SESSIONS) return jsonRpcError(405, -32000, "This server runs without sessions", { Allow: "POST" });
    if (!sessionId) return jsonRpcError(400, -32000, "Bad Request: Mcp-Session-Id header is required");
    if (!(await this.sessionBelongsTo(sessionId, caller, origin))) return sessionNotFound();
    await this.deps.sessions.delete(sessionId);
    return { status: 200, headers: { "Cache-Control": "no-store" }, body: "" };
  }
}

function withHeader(reply: McpReply, name: string, value: string): McpReply {
  if (reply instanceof Response) {
    reply.headers.set(name, value);
    return reply;
  }
  return { ...reply, headers: { ...reply.headers, [name]: value } };
}

/** The request's `DPoP` headers (Node joins repeated ones with ", "; a compact JWS has no comma). */
export function dpopProofs(headers: IncomingHttpHeaders): string[] {
  const value = headers.dpop;
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).flatMap((v) => v.split(",")).map((v) => v.trim());
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return typeof value === "string" ? value : undefined;
}

/** MCP Transports: an unknown or ended session is a 404, after which the client starts a new one. */
function sessionNotFound(): McpReply {
  return jsonRpcError(404, -32001, "Session not found");
}

function isInitialize(message: unknown): boolean {
  return (message as { method?: unknown } | null)?.method === "initialize";
}

function methodOf(message: unknown): string | undefined {
  const method = (message as { method?: unknown } | null)?.method;
  return typeof method === "string" ? method.slice(0, 100) : undefined;
}
