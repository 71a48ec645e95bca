/**
 * Which of the two ways a POST to the MCP endpoint is served (ADR 0013): the hot path (a long-lived connection) takes
 * only requests it can prove well-formed with a few equality checks; every other request — `initialize`,
 * notifications, batches, header or envelope errors, unusual encodings — goes to the SDK's own entry, which owns the
 * answers to all of them. The era comes from the SDK's classifier (`classifyInboundRequest`: body first, the
 * `MCP-Protocol-Version` header as a cross-check), so this module and the SDK can never disagree about it.
 *
 * MCP 2026-07-28 Streamable HTTP §Request Metadata: every modern request carries `MCP-Protocol-Version` and
 * `Mcp-Method`, and `tools/call` carries `Mcp-Name` equal to `params.name` (a Base64 sentinel value is left to the
 * SDK). 2025-11-25 Transports §Sending Messages: the client accepts both `application/json` and `text/event-stream`.
 */
import type { IncomingHttpHeaders } from "node:http";
import { classifyInboundRequest, type JSONRPCRequest } from "@modelcontextprotocol/server";
import { LEGACY_REVISIONS, MODERN_REVISIONS, type Era } from "./server.ts";

/** `sdk` lanes: `modern` goes to the SDK's entry (which also answers every ladder rejection), `legacy` to its 2025 transport. */
export type Lane = { lane: "connection"; era: Era; request: JSONRPCRequest } | { lane: "sdk"; era: Era };

/** Modern methods the connections serve; anything else a 2026 client sends goes to the SDK entry. */
const MODERN_HOT_METHODS = new Set(["tools/call", "tools/list", "server/discover"]);
const MODERN = new Set<string>(MODERN_REVISIONS);
const LEGACY = new Set<string>(LEGACY_REVISIONS);

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return typeof value === "string" ? value.trim() : undefined;
}

/** `body` is the parsed JSON of a POST (undefined when it did not parse). */
export function chooseLane(headers: IncomingHttpHeaders, body: unknown): Lane {
  if (!isJson(headers["content-type"])) return { lane: "sdk", era: "modern" };
  const protocolVersionHeader = header(headers, "mcp-protocol-version");
  const mcpMethodHeader = header(headers, "mcp-method");
  const mcpNameHeader = header(headers, "mcp-name");
  const outcome = classifyInboundRequest({ httpMethod: "POST", protocolVersionHeader, mcpMethodHeader, mcpNameHeader, body });
  if (outcome.kind === "modern") {
    if (outcome.messageKind !== "request") return { lane: "sdk", era: "modern" };
    const request = outcome.message as JSONRPCRequest;
    const revision = outcome.classification.revision;
    const hot =
      revision !== undefined &&
      MODERN.has(revision) &&
      protocolVersionHeader === revision &&
      mcpMethodHeader === request.method &&
      MODERN_HOT_METHODS.has(request.method) &&
      (request.method !== "tools/call" || mcpNameHeader === (request.params as { name?: unknown } | undefined)?.name);
    return hot ? { lane: "connection", era: "modern", request } : { lane: "sdk", era: "modern" };
  }
  if (outcome.kind === "legacy") {
    const request = body as JSONRPCRequest;
    const hot =
      outcome.reason === "no-claim" &&
      typeof request.method === "string" &&
      request.id !== undefined &&
      (protocolVersionHeader === undefined || LEGACY.has(protocolVersionHeader)) &&
      acceptsBoth(headers.accept);
    return hot ? { lane: "connection", era: "legacy", request } : { lane: "sdk", era: "legacy" };
  }
  return { lane: "sdk", era: "modern" };
}

function isJson(contentType: string | undefined): boolean {
  return contentType !== undefined && /^application\/json\s*(;|$)/i.test(contentType);
}

function acceptsBoth(accept: string | undefined): boolean {
  return accept !== undefined && accept.includes("application/json") && accept.includes("text/event-stream");
}
