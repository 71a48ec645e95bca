/**
 * The MCP endpoints on the Node host (ADR: MCP on the host):
 * - `GET /mcp/sse` + `POST /mcp/message?sessionId=…`: the legacy SSE transport needs Node `req`/`res`;
 * - `POST|GET|DELETE /mcp/mcp`: Streamable HTTP, served here rather than through a Remix resource route: through
 *   Remix the same call cost about twice the CPU (ADR 0010, measured with bench/mcp.ts).
 * The per-IP rate limit has already run (rate-limit-middleware.ts); the bearer check and per-client limit run in
 * server/mcp.
 */
import type { ServerResponse } from "node:http";
import type { Express, NextFunction, Request, Response } from "express";
import type { Services } from "../services.ts";
import type { HostReply } from "../mcp/sse.ts";
import { readBody, sendFetchResponse, toFetchHeaders } from "./fetch-adapter.ts";
import { requestMeta } from "./request-context.ts";

/** MCP messages get the host's body limit (app.ts BODY_LIMIT_BYTES). */
const BODY_LIMIT_BYTES = 1024 * 1024;

export function mountMcp(app: Express, services: Services): void {
  const { mcp } = services;
  const named = (pattern: string) => (_req: Request, res: Response, next: NextFunction) => {
    requestMeta(res).route = pattern;
    next();
  };

  app.get("/mcp/sse", named("/mcp/sse"), (req, res, next) => {
    mcp.sse.open(req, res, requestMeta(res)).then((reply) => reply && send(res, reply), next);
  });
  app.all("/mcp/sse", named("/mcp/sse"), (_req, res) => {
    res.status(405).set({ Allow: "GET", "Cache-Control": "no-store" }).json({
      error: "invalid_request",
      error_description: "GET opens the SSE stream; messages go to the endpoint its first event names",
    });
  });
  app.post("/mcp/message", named("/mcp/message"), (req, res, next) => {
    readBody(req, BODY_LIMIT_BYTES)
      .then((body) => mcp.sse.post(req, body, requestMeta(res)))
      .then((reply) => send(res, reply), next);
  });

  app.all("/mcp/mcp", named("/mcp/mcp"), (req, res, next) => {
    handleStreamable(services, req, res).catch(next);
  });
}

async function handleStreamable(services: Services, req: Request, res: Response): Promise<void> {
  const meta = requestMeta(res);
  let parsedBody: unknown;
  if (req.method === "POST") {
    const body = await readBody(req, BODY_LIMIT_BYTES);
    try {
      parsedBody = JSON.parse(body.toString("utf8"));
    } catch {
      // Left undefined: the endpoint reads the (empty) body itself and answers the JSON-RPC parse error.
    }
  }
  // The body was consumed above; the transport gets it parsed (no second copy, no second parse). No abort signal:
  // with JSON responses nothing streams, and a signal costs an AbortSignal per request.
  const request = new Request(services.env.APP_URL + req.originalUrl, { method: req.method, headers: toFetchHeaders(req.headers) });
  const response = await services.mcp.streamable.handle(request, meta, parsedBody);
  await sendMcpResponse(res, response);
}

/**
 * Sends a Fetch Response from the MCP transport: JSON bodies in one write (cheaper than piping a web stream),
 * event streams through the host's streaming adapter.
 */
export async function sendMcpResponse(res: ServerResponse, response: globalThis.Response): Promise<void> {
  if (!response.body || /event-stream/i.test(response.headers.get("content-type") ?? "")) {
    await sendFetchResponse(res, response);
    return;
  }
  const body = Buffer.from(await response.arrayBuffer());
  res.statusCode = response.status;
  for (const [key, value] of response.headers) res.setHeader(key, value);
  res.setHeader("Content-Length", body.length);
  res.end(body);
}

function send(res: Response, reply: HostReply): void {
  res.status(reply.status).set(reply.headers).send(reply.body);
}
