/**
 * The MCP endpoints on the Node host (ADR 0010):
 * - `GET /mcp/sse` + `POST /mcp/message?sessionId=…`: the legacy SSE transport needs Node `req`/`res`;
 * - `POST|GET|DELETE /mcp/mcp`: Streamable HTTP, served here rather than through a Remix resource route: through
 *   Remix the same call cost about twice the CPU (ADR 0010, measured with bench/mcp.ts).
 * The handlers work on plain Node requests: app.ts calls them on its fast path (exact paths, no Express router) and
 * from the Express routes mounted here (other spellings of the paths: `/MCP/mcp`, `/mcp/mcp/`). The host's edge
 * steps (edge.ts: request id, access log, security headers, CORS, per-IP rate limit) have run before either; the
 * bearer check and per-client limit run in server/mcp.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Express, NextFunction, Request, Response } from "express";
import type { HostReply } from "../mcp/sse.ts";
import type { McpReply } from "../mcp/streamable-http.ts";
import { BODY_LIMIT_BYTES, FETCH_FORBIDDEN_METHODS, readBody, sendFetchResponse } from "./fetch-adapter.ts";
import type { HostServices } from "./host-services.ts";
import { requestMeta } from "./request-context.ts";
import { sendJson } from "./send-json.ts";

export interface McpHandlers {
  /** `/mcp/mcp`, any method. */
  streamable(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** `POST /mcp/message`. */
  message(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** `GET /mcp/sse`. */
  openStream(req: IncomingMessage, res: ServerResponse): Promise<void>;
}

export function mcpHandlers(services: Pick<HostServices, "env" | "mcp">): McpHandlers {
  const { mcp, env } = services;
  return {
    async streamable(req, res) {
      const meta = requestMeta(res);
      const method = req.method ?? "GET";
      if (FETCH_FORBIDDEN_METHODS.has(method)) {
        sendJson(res, 405, { error: "invalid_request", error_description: "Method not allowed" }, { Allow: "POST" });
        return;
      }
      let body: unknown;
      if (method === "POST") {
        const raw = await readBody(req, BODY_LIMIT_BYTES);
        try {
          body = JSON.parse(raw.toString("utf8"));
        } catch {
          // Left undefined: the endpoint answers the JSON-RPC parse error.
        }
      }
      // No Fetch Request here: the hot path works on the parsed body and the Node headers (the SDK's entry builds
      // one when it is needed). No abort signal: nothing streams on the hot path.
      const reply = await mcp.streamable.handle({ method, url: env.APP_URL + (req.url ?? "/"), headers: req.headers, body }, meta);
      await sendMcpReply(res, reply);
    },
    async message(req, res) {
      const body = await readBody(req, BODY_LIMIT_BYTES);
      send(res, await mcp.sse.post(req, body, requestMeta(res)));
    },
    async openStream(req, res) {
      const reply = await mcp.sse.open(req, res, requestMeta(res));
      if (reply) send(res, reply);
    },
  };
}

/** The Express routes for the MCP paths (requests that did not take app.ts's fast path). */
export function mountMcp(app: Express, handlers: McpHandlers): void {
  const named = (pattern: string) => (_req: Request, res: Response, next: NextFunction) => {
    requestMeta(res).route = pattern;
    next();
  };

  app.get("/mcp/sse", named("/mcp/sse"), (req, res, next) => {
    handlers.openStream(req, res).catch(next);
  });
  app.all("/mcp/sse", named("/mcp/sse"), (_req, res) => {
    sendJson(
      res,
      405,
      { error: "invalid_request", error_description: "GET opens the SSE stream; messages go to the endpoint its first event names" },
      { Allow: "GET" },
    );
  });
  app.post("/mcp/message", named("/mcp/message"), (req, res, next) => {
    handlers.message(req, res).catch(next);
  });
  app.all("/mcp/mcp", named("/mcp/mcp"), (req, res, next) => {
    handlers.streamable(req, res).catch(next);
  });
}

/**
 * Sends the endpoint's answer: a JSON reply in one write, or the SDK entry's Response (event streams through the
 * host's streaming adapter).
 */
export async function sendMcpReply(res: ServerResponse, reply: McpReply): Promise<void> {
  if (reply instanceof globalThis.Response) {
    await sendFetchResponse(res, reply);
    return;
  }
  res.statusCode = reply.status;
  for (const [key, value] of Object.entries(reply.headers)) res.setHeader(key, value);
  res.setHeader("Content-Length", Buffer.byteLength(reply.body));
  res.end(reply.body);
}

/** Sends a reply of the SSE endpoint; text bodies are UTF-8 and say so (as Express's `res.send` did). */
function send(res: ServerResponse, reply: HostReply): void {
  res.statusCode = reply.status;
  for (const [name, value] of Object.entries(reply.headers)) res.setHeader(name, value);
  const type = res.getHeader("Content-Type");
  if (typeof type === "string" && !/;\s*charset=/i.test(type)) res.setHeader("Content-Type", `${type}; charset=utf-8`);
  res.setHeader("Content-Length", Buffer.byteLength(reply.body));
  res.end(reply.body);
}
