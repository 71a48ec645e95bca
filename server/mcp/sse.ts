/**
 * The legacy HTTP+SSE transport (MCP 2024-11-05) for older clients: `GET /mcp/sse` opens an event stream whose
 * first event names the message endpoint (`/mcp/message?sessionId=…`); the client POSTs JSON-RPC messages there and
 * the answers come back on the stream. Both requests carry the bearer token (audience `…/mcp/sse` or `…/mcp`).
 *
 * The stream lives on one node. With REDIS_URL a message POSTed to another node is published on the session's
 * channel (`mcp:sse:<id>`) and the holding node feeds it to its transport; the owner of each session (user and
 * client) is kept in Redis too, so any node can refuse someone else's token before publishing. Published messages
 * carry the verified caller, never the token. Streams end on graceful shutdown (`services.shutdown`).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { parseJSONRPCMessage, type JSONRPCMessage, type McpServer } from "@modelcontextprotocol/server";
import { SSEServerTransport } from "@modelcontextprotocol/server-legacy/sse";
import type { DomainEventBus } from "../events.ts";
import type { Env } from "../env.ts";
import type { RateLimits, RateLimitRejection } from "../request/rate-limit.ts";
import type { RequestMeta } from "../request/meta.ts";
import type { Logger } from "../logger.ts";
import type { RedisService } from "../redis.ts";
import { callerKey, toAuthInfo, type BearerAuth, type BearerFailure, type McpCaller } from "./bearer.ts";
import { ENDPOINT_SCOPES } from "../oauth/scopes.ts";
import { buildMcpServer, type McpServers, type RequestFacts } from "./server.ts";
import { dpopProofs, originOf } from "./streamable-http.ts";
import { callerIsAdmin } from "./tools/admin-guard.ts";
import { missingToolScopes } from "./tool-scopes.ts";

/** An HTTP answer for the Node host to send. */
export interface HostReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface SseDeps {
  env: Env;
  log: Logger;
  events: DomainEventBus;
  redis: RedisService | null;
  bearer: BearerAuth;
  rateLimits: RateLimits;
  servers: McpServers;
  shutdown: AbortSignal;
}

interface Owner {
  /** Null for a machine client (client_credentials). */
  userId: string | null;
  clientDbId: string;
}

interface LocalSession {
  transport: SSEServerTransport;
  server: McpServer;
  owner: Owner;
  close(): void;
}

interface RemoteMessage {
  message: JSONRPCMessage;
  caller: McpCaller;
  facts: RequestFacts;
}

const KEEP_ALIVE_MS = 25_000;
const MAX_STREAMS_PER_OWNER = 16;
/** The owner record outlives a node crash by at most this long; a live stream refreshes it. */
const OWNER_TTL_SECONDS = 120;
const SESSION_ID = /^[0-9a-f-]{36}$/;

export class SseEndpoint {
  private readonly sessions = new Map<string, LocalSession>();
  private readonly streamsPerOwner = new Map<string, number>();

  constructor(private readonly deps: SseDeps) {}

  get openStreams(): number {
    return this.sessions.size;
  }

  /**
   * `GET /mcp/sse`: authenticates, then keeps the response open as the session's stream. Resolves a reply only
   * when the stream could not be opened.
   */
  async open(req: IncomingMessage, res: ServerResponse, meta: RequestMeta): Promise<HostReply | null> {
    const caller = await this.authenticate(req, meta, "stream");
    if (!isCaller(caller)) return caller;
    const ownerKey = callerKey(caller);
    const open = this.streamsPerOwner.get(ownerKey) ?? 0;
    if (open >= MAX_STREAMS_PER_OWNER) {
      // Each stream holds a server in memory: one client acting for one person gets a bounded number at once.
      return this.reply(meta, "stream", 429, `At most ${MAX_STREAMS_PER_OWNER} open SSE streams per client and user`, { "Retry-After": "5" });
    }
    this.streamsPerOwner.set(ownerKey, open + 1);
    const admin = callerIsAdmin(caller);
    const server = buildMcpServer(this.deps.servers.deps, admin ? "admin" : "user");
    const endpoint = `${new URL(this.deps.env.APP_URL).pathname.replace(/\/$/, "")}/mcp/message`;
    const transport = new SSEServerTransport(endpoint, res);
    const sessionId = transport.sessionId;
    const owner: Owner = { userId: caller.userId, clientDbId: caller.clientDbId };
    const { redis, shutdown } = this.deps;

    let closed = false;
    let keepAlive: NodeJS.Timeout | undefined = undefined;
    let unsubscribe: (() => Promise<void>) | undefined;
    const ownerRecordKey = redis?.key(`mcp:sse:owner:${sessionId}`);
    const close = () => {
      if (closed) return;
      closed = true;
      clearInterval(keepAlive);
      shutdown.removeEventListener("abort", close);
      this.sessions.delete(sessionId);
      const remaining = (this.streamsPerOwner.get(ownerKey) ?? 1) - 1;
      if (remaining > 0) this.streamsPerOwner.set(ownerKey, remaining);
      else this.streamsPerOwner.delete(ownerKey);
      void unsubscribe?.();
      if (redis && ownerRecordKey) void redis.client().del(ownerRecordKey).catch(() => {});
      void server.close().catch(() => {});
      if (!res.writableEnded) res.end();
      // Shutting down: also end the connection, or the client's reconnect would find it open and hold the shutdown.
      if (shutdown.aborted) res.socket?.end();
    };
    this.sessions.set(sessionId, { transport, server, owner, close });
    res.on("close", close);
    shutdown.addEventListener("abort", close);

    if (redis && ownerRecordKey) {
      const subscription = redis.subscribe(`mcp:sse:${sessionId}`, (raw) => this.deliverRemote(sessionId, raw));
      unsubscribe = subscription.unsubscribe;
      const registered = redis.client().set(ownerRecordKey, JSON.stringify(owner), "EX", OWNER_TTL_SECONDS).catch(() => {});
      // Redis down: the stream still works for messages posted to this node; no point waiting for the subscription.
      if (redis.isReady()) await Promise.all([subscription.ready, registered]);
    }
    // The client left (or shutdown began) while Redis was being set up.
    if (closed || shutdown.aborted) {
      close();
      return null;
    }
    // The stream must not be cut by the host's timeouts; comments keep proxies from closing an idle stream.
    res.setTimeout(0);
    res.setHeader("X-Accel-Buffering", "no");
    await server.connect(transport);
    keepAlive = setInterval(() => {
      if (res.writableEnded) return;
      res.write(": keep-alive\n\n");
      if (redis && ownerRecordKey) void redis.client().expire(ownerRecordKey, OWNER_TTL_SECONDS).catch(() => {});
    }, KEEP_ALIVE_MS);
    keepAlive.unref();
    this.emitRequest(meta, "stream", 200);
    return null;
  }

  /** `POST /mcp/message?sessionId=…`: one JSON-RPC message for a session's stream (here or on another node). */
  async post(req: IncomingMessage, body: Buffer, meta: RequestMeta): Promise<HostReply> {
    const caller = await this.authenticate(req, meta, "none");
    if (!isCaller(caller)) return caller;
    const url = new URL(req.url ?? "/", "http://host");
    const sessionId = url.searchParams.get("sessionId") ?? "";
    if (!/^application\/json\b/i.test(req.headers["content-type"] ?? "")) {
      return this.reply(meta, "none", 415, "Content-Type must be application/json");
    }
    let message: JSONRPCMessage;
    try {
      message = parseJSONRPCMessage(JSON.parse(body.toString("utf8")));
    } catch {
      return this.reply(meta, "none", 400, "Invalid JSON-RPC message");
    }
    const label = "method" in message && typeof message.method === "string" ? message.method.slice(0, 100) : "none";
    if (!SESSION_ID.test(sessionId)) return this.reply(meta, label, 400, "sessionId query parameter missing or malformed");

    const missing = missingToolScopes(caller, [message]);
    if (missing) {
      const stepUp = this.deps.bearer.insufficientScope("sse", missing);
      if (!stepUp.ok) return this.failure(meta, label, stepUp.failure);
    }
    const facts: RequestFacts = { origin: originOf(meta), requestId: meta.requestId };

    const local = this.sessions.get(sessionId);
    if (local) {
      if (!sameOwner(local.owner, caller)) return this.notFound(meta, label, caller);
      await this.deliver(local, message, caller, facts);
      return this.reply(meta, label, 202, "Accepted");
    }
    const { redis } = this.deps;
    if (!redis) return this.notFound(meta, label);
    let owner: Owner | null = null;
    try {
      const raw = await redis.client().get(redis.key(`mcp:sse:owner:${sessionId}`));
      owner = raw ? (JSON.parse(raw) as Owner) : null;
    } catch {
      return this.reply(meta, label, 503, "Session store unreachable; reconnect the SSE stream", { "Retry-After": "1" });
    }
    if (!owner) return this.notFound(meta, label);
    if (!sameOwner(owner, caller)) return this.notFound(meta, label, caller);
    const forwarded: RemoteMessage = { message, caller, facts };
    const receivers = await redis.publish(`mcp:sse:${sessionId}`, JSON.stringify(forwarded));
    if (receivers < 0) return this.reply(meta, label, 503, "Session store unreachable; reconnect the SSE stream", { "Retry-After": "1" });
    if (receivers === 0) return this.notFound(meta, label);
    return this.reply(meta, label, 202, "Accepted");
  }

  /** Ends every stream (graceful shutdown also does this through `services.shutdown`). */
  closeAll(): void {
    for (const session of [...this.sessions.values()]) session.close();
  }

  private async authenticate(req: IncomingMessage, meta: RequestMeta, label: string): Promise<McpCaller | HostReply> {
    const auth = await this.deps.bearer.authenticate({
      authorization: req.headers.authorization,
      url: req.url ?? "/",
      endpoint: "sse",
      requiredScopes: ENDPOINT_SCOPES,
      origin: originOf(meta),
      dpop: { proofs: dpopProofs(req.headers), method: req.method ?? "GET", url: this.deps.env.APP_URL + (req.url ?? "/").split("?")[0] },
    });
    if (!auth.ok) return this.failure(meta, label, auth.failure);
    const { caller } = auth;
    meta.clientId = caller.clientDbId;
    meta.userId = caller.userId;
    const limited = await this.deps.rateLimits.consume("mcp", "client", callerKey(caller), originOf(meta));
    if (limited) return this.rateLimited(meta, label, limited);
    return caller;
  }

  private async deliver(session: LocalSession, message: JSONRPCMessage, caller: McpCaller, facts: RequestFacts): Promise<void> {
    const authInfo = toAuthInfo(caller, facts);
    await session.transport.handleMessage(message, { authInfo });
  }

  private deliverRemote(sessionId: string, raw: string): void {
    const session = this.sessions.get(sessionId);
    if (!session) return;
    let forwarded: RemoteMessage;
    try {
      forwarded = JSON.parse(raw) as RemoteMessage;
      forwarded.caller.expiresAt = new Date(forwarded.caller.expiresAt);
      forwarded.message = parseJSONRPCMessage(forwarded.message);
    } catch {
      return;
    }
    // The sending node checked the token; the owner is checked again here against the stream's own record.
    if (!sameOwner(session.owner, forwarded.caller)) return;
    void this.deliver(session, forwarded.message, forwarded.caller, forwarded.facts).catch((error: unknown) =>
      this.deps.log.warn({ err: error, sessionId }, "forwarded SSE message not delivered"),
    );
  }

  private notFound(meta: RequestMeta, label: string, caller?: McpCaller): HostReply {
    if (caller) {
      this.deps.events.security({
        ...originOf(meta),
        type: "SUSPICIOUS_ACTIVITY",
        severity: "medium",
        details: { reason: "mcp_session_of_another_caller", transport: "sse" },
      });
    }
    return this.reply(meta, label, 404, "Session not found");
  }

  private failure(meta: RequestMeta, label: string, failure: BearerFailure): HostReply {
    meta.oauthError = failure.error ?? null;
    this.emitRequest(meta, label, failure.status);
    return { status: failure.status, headers: failure.headers, body: JSON.stringify(failure.body) };
  }

  private rateLimited(meta: RequestMeta, label: string, rejection: RateLimitRejection): HostReply {
    meta.oauthError = "rate_limit_exceeded";
    this.emitRequest(meta, label, rejection.status);
    return { status: rejection.status, headers: rejection.headers, body: JSON.stringify(rejection.body) };
  }

  private reply(meta: RequestMeta, label: string, status: number, text: string, headers: Record<string, string> = {}): HostReply {
    this.emitRequest(meta, label, status);
    return { status, headers: { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store", ...headers }, body: text };
  }

  private emitRequest(meta: RequestMeta, method: string, status: number): void {
    this.deps.events.emit("mcp.request", { ...originOf(meta), transport: "sse", method, status });
  }
}

function isCaller(value: McpCaller | HostReply): value is McpCaller {
  return "tokenId" in value;
}

function sameOwner(owner: Owner, caller: Pick<McpCaller, "userId" | "clientDbId">): boolean {
  return owner.userId === caller.userId && owner.clientDbId === caller.clientDbId;
}

