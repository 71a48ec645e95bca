/** JSON-RPC messages as a careful client sends them at each protocol generation (MCP 2026-07-28 and 2025-11-25). */
export const MODERN = "2026-07-28";
export const LEGACY = "2025-11-25";
const CLIENT_INFO = { name: "mcp-oauth-server-doctor", version: "1.0.0" };

/** MCP 2026-07-28 Streamable HTTP §Request Metadata: the standard headers mirror the body. */
export function MODERN_HEADERS(method: string, name?: string): Record<string, string> {
  return {
    "Content-Type": "application/json",
    Accept: "application/json, text/event-stream",
    "MCP-Protocol-Version": MODERN,
    "Mcp-Method": method,
    ...(name ? { "Mcp-Name": name } : {}),
  };
}

export function LEGACY_HEADERS(): Record<string, string> {
  return { "Content-Type": "application/json", Accept: "application/json, text/event-stream", "MCP-Protocol-Version": LEGACY };
}

let nextId = 1;

/** A 2026-07-28 request: the per-request `_meta` envelope in params. */
export function modernMessage(method: string, params: Record<string, unknown> = {}) {
  return {
    jsonrpc: "2.0",
    id: nextId++,
    method,
    params: {
      ...params,
      _meta: {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientInfo": CLIENT_INFO,
        "io.modelcontextprotocol/clientCapabilities": {},
      },
    },
  };
}

export function legacyMessage(method: string, params?: Record<string, unknown>) {
  return { jsonrpc: "2.0", id: nextId++, method, ...(params ? { params } : {}) };
}

export const LEGACY_INITIALIZE = () => legacyMessage("initialize", { protocolVersion: LEGACY, capabilities: {}, clientInfo: CLIENT_INFO });

/** The JSON-RPC answer in a JSON body or the last `data:` line of an event stream. */
export function rpcAnswer(text: string): { result?: Record<string, unknown>; error?: { code: number; message: string } } | undefined {
  const candidates = text.trimStart().startsWith("{") ? [text] : [...text.matchAll(/^data: ?(.*)$/gm)].map((m) => m[1]!).reverse();
  for (const candidate of candidates) {
    try {
      const parsed = JSON.parse(candidate) as { result?: Record<string, unknown>; error?: { code: number; message: string } };
      if (parsed.result || parsed.error) return parsed;
    } catch {
      // not this one
    }
  }
  return undefined;
}
