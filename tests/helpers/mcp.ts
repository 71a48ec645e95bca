/**
 * MCP SDK clients for tests: Streamable HTTP and legacy SSE, authorized by a bearer token, and a raw JSON-RPC POST
 * for checking HTTP-level answers (401/403/429) the SDK client would hide behind an exception.
 */
import { randomBytes } from "node:crypto";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll } from "vitest";

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

/** A Redis key prefix of its own for one test file (several files share the machine's Redis). */
export function redisTestPrefix(name: string): string {
  return `test:${name}:${randomBytes(4).toString("hex")}:`;
}

const open: Client[] = [];
afterAll(async () => {
  await Promise.all(open.splice(0).map((client) => client.close().catch(() => {})));
});

function newClient(): Client {
  const client = new Client({ name: "vitest-mcp-client", version: "1.0.0" });
  open.push(client);
  return client;
}

/** `fetch` lets a test route the client's requests (e.g. alternate between two nodes). */
export async function connectStreamable(
  baseUrl: string,
  token: string,
  options: { fetch?: (url: string | URL, init?: RequestInit) => Promise<Response> } = {},
): Promise<Client> {
  const client = newClient();
  const transport = new StreamableHTTPClientTransport(new URL("/mcp/mcp", baseUrl), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  await client.connect(transport);
  return client;
}

/**
 * Legacy SSE client. `postTo` sends the POSTed messages to another node than the one holding the stream (the
 * message endpoint's path and sessionId are kept).
 */
export async function connectSse(baseUrl: string, token: string, options: { postTo?: string } = {}): Promise<Client> {
  const client = newClient();
  const postTo = options.postTo;
  const transport = new SSEClientTransport(new URL("/mcp/sse", baseUrl), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
    ...(postTo
      ? {
          // The stream stays on baseUrl (eventSourceInit.fetch); only the POSTs go through `fetch`.
          eventSourceInit: { fetch: (url: string | URL, init?: RequestInit) => fetch(url, init) },
          fetch: (url: string | URL, init?: RequestInit) => {
            const target = new URL(url);
            const other = new URL(postTo);
            target.protocol = other.protocol;
            target.host = other.host;
            return fetch(target, init);
          },
        }
      : {}),
  });
  await client.connect(transport);
  return client;
}

/** The parsed JSON of a successful tool call (its structured content). */
export function structured<T = Record<string, unknown>>(result: unknown): T {
  const call = result as CallToolResult;
  if (call.isError) throw new Error(`tool failed: ${JSON.stringify(call.content)}`);
  return call.structuredContent as T;
}

export function toolText(result: unknown): string {
  const call = result as CallToolResult;
  return call.content.map((c) => (c.type === "text" ? c.text : "")).join("\n");
}

export const MCP_ACCEPT = "application/json, text/event-stream";

/** One raw JSON-RPC POST to /mcp/mcp (for the HTTP-level answers). */
export async function rawMcpPost(
  baseUrl: string,
  body: unknown,
  headers: Record<string, string> = {},
  path = "/mcp/mcp",
): Promise<Response> {
  return fetch(new URL(path, baseUrl), {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: MCP_ACCEPT, "Mcp-Protocol-Version": "2025-11-25", ...headers },
    body: JSON.stringify(body),
  });
}

export const INITIALIZE = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
};

export function toolsCall(name: string, args: Record<string, unknown> = {}, id = 2) {
  return { jsonrpc: "2.0", id, method: "tools/call", params: { name, arguments: args } };
}

/** The per-request `_meta` envelope of MCP 2026-07-28 (§Request Metadata). */
export const ENVELOPE = {
  "io.modelcontextprotocol/protocolVersion": "2026-07-28",
  "io.modelcontextprotocol/clientInfo": { name: "raw", version: "1" },
  "io.modelcontextprotocol/clientCapabilities": {},
};

/**
 * One raw 2026-07-28 request to /mcp/mcp: the envelope in `params._meta` and the standard headers
 * (`MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name` for tools/call) derived from the body unless `headers` says otherwise.
 */
export async function modernMcpPost(
  baseUrl: string,
  method: string,
  params: Record<string, unknown> = {},
  headers: Record<string, string | undefined> = {},
  id: number | string = 1,
): Promise<Response> {
  const standard: Record<string, string | undefined> = {
    "Content-Type": "application/json",
    Accept: MCP_ACCEPT,
    "MCP-Protocol-Version": "2026-07-28",
    "Mcp-Method": method,
    ...(typeof params.name === "string" ? { "Mcp-Name": params.name } : {}),
    ...headers,
  };
  const sent = Object.fromEntries(Object.entries(standard).filter(([, value]) => value !== undefined)) as Record<string, string>;
  return fetch(new URL("/mcp/mcp", baseUrl), {
    method: "POST",
    headers: sent,
    body: JSON.stringify({ jsonrpc: "2.0", id, method, params: { ...params, _meta: ENVELOPE } }),
  });
}
