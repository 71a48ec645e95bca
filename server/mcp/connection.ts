/**
 * One long-lived, in-process connection to an McpServer that serves many HTTP requests at once (ADR 0013).
 *
 * The SDK's own per-request entry (`createMcpHandler`) connects a server to a fresh `PerRequestHTTPServerTransport`
 * for every exchange and answers with a Fetch `Response`; under load that connect/close cycle, its abort signals and
 * the Response streams cost more CPU than the tool call itself. Here a server stays connected: each request's
 * JSON-RPC message is handed to the SDK's protocol layer (`transport.onmessage`) with its own `authInfo`, under a
 * connection-unique id (callers reuse ids freely), and the answer comes back through `send` as a plain object.
 * The SDK still does everything protocol-level: the envelope and params checks, tool lookup, argument validation,
 * result encoding for the era (`resultType`, `ttlMs`/`cacheScope`, `serverInfo` in `_meta`).
 *
 * The transport subclasses `PerRequestHTTPServerTransport` only so that connecting binds the server to the modern
 * revision it was built for (the SDK binds an instance to the classified revision on connect, MCP 2026-07-28
 * §Versioning); none of that class's single-exchange behaviour is used.
 */
import {
  PerRequestHTTPServerTransport,
  type AuthInfo,
  type JSONRPCMessage,
  type JSONRPCRequest,
  type JSONRPCResponse,
  type McpServer,
  type MessageClassification,
  type MessageExtraInfo,
} from "@modelcontextprotocol/server";

export interface DispatchResult {
  /** The JSON-RPC response, with the caller's own id. */
  message: JSONRPCResponse;
  /** The HTTP status the transport specification gives it. */
  status: number;
}

/**
 * MCP 2026-07-28 Streamable HTTP: errors the protocol layer raises before any handler runs (the validation ladder)
 * carry an HTTP status — an unimplemented method is 404 (§Protocol Version Header), version, header and shape errors
 * are 400; -32021 is 400 wherever it arises. Everything a handler answers is in-band (200). 2025-era answers are 200.
 */
const LADDER_STATUS: Record<number, number> = { [-32700]: 400, [-32600]: 400, [-32601]: 404, [-32022]: 400, [-32021]: 400, [-32020]: 400 };

interface Pending {
  resolve(result: DispatchResult): void;
  id: JSONRPCRequest["id"];
  modern: boolean;
  /** Set while the message is being delivered synchronously (ladder errors are answered inside this window). */
  inDispatch: boolean;
}

class MultiplexTransport extends PerRequestHTTPServerTransport {
  declare onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;
  declare onclose?: () => void;
  declare onerror?: (error: Error) => void;
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  private closed = false;

  constructor(private readonly classification: MessageClassification | undefined) {
    super({ classification: classification ?? { era: "legacy" } });
  }

  override async start(): Promise<void> {}

  override async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.onclose?.();
  }

  /** Answers arrive here; notifications (progress, logging) are dropped: every answer is a single JSON object. */
  override async send(message: JSONRPCMessage): Promise<void> {
    if (!("id" in message) || "method" in message) return;
    const pending = this.pending.get(message.id as number);
    if (!pending) return;
    this.pending.delete(message.id as number);
    const code = "error" in message ? message.error.code : undefined;
    const status = code === undefined || !pending.modern ? 200 : code === -32021 || pending.inDispatch ? (LADDER_STATUS[code] ?? 200) : 200;
    pending.resolve({ message: { ...message, id: pending.id }, status });
  }

  dispatch(request: JSONRPCRequest, authInfo: AuthInfo): Promise<DispatchResult> {
    if (this.closed || !this.onmessage) return Promise.reject(new Error("MCP connection closed"));
    const id = ++this.nextId;
    return new Promise((resolve) => {
      const pending: Pending = { resolve, id: request.id, modern: this.classification !== undefined, inDispatch: true };
      this.pending.set(id, pending);
      const extra: MessageExtraInfo = this.classification ? { classification: this.classification, authInfo } : { authInfo };
      try {
        this.onmessage!({ ...request, id }, extra);
      } finally {
        pending.inDispatch = false;
      }
    });
  }

  get inFlight(): number {
    return this.pending.size;
  }
}

/** A connected server and the transport requests are dispatched through. */
export class McpConnection {
  private constructor(
    readonly server: McpServer,
    private readonly transport: MultiplexTransport,
  ) {}

  /**
   * Connects `server`: for a modern revision (`2026-07-28`) the server must list it in `supportedProtocolVersions`;
   * without one the connection speaks the 2025 era and never sees `initialize` (the SDK's entry answers that).
   */
  static async open(server: McpServer, revision?: string): Promise<McpConnection> {
    const transport = new MultiplexTransport(revision ? { era: "modern", revision } : undefined);
    await server.connect(transport);
    return new McpConnection(server, transport);
  }

  dispatch(request: JSONRPCRequest, authInfo: AuthInfo): Promise<DispatchResult> {
    return this.transport.dispatch(request, authInfo);
  }

  get inFlight(): number {
    return this.transport.inFlight;
  }

  close(): Promise<void> {
    return this.server.close();
  }
}
