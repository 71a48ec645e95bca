/**
 * One JSON log line per request (request id, method, route pattern, status, duration) and the `http.request`
 * domain event. Never headers, query strings, cookies or bodies: they carry tokens and codes.
 *
 * Written on `finish` (before OpenTelemetry's HTTP instrumentation ends the request's span on `close`, so the span
 * gets the route name set by the `http.request` subscriber), or on `close` when the client went away first. Hot
 * path: shared listeners (no closure per request), and a logger without the redaction pass (logger.ts
 * `accessLogger`): every field written here is known to be safe.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { DomainEventBus } from "../events.ts";
import { accessLogger, type Logger } from "../logger.ts";
import { requestMeta } from "./request-context.ts";

export interface AccessLogDeps {
  log: Logger;
  events: DomainEventBus;
}

/** Returns the function that starts watching a response; it logs and emits once the response is over. */
export function accessLog(deps: AccessLogDeps, routeOf: (req: IncomingMessage) => string): (res: ServerResponse) => void {
  const log = accessLogger(deps.log);
  const { events } = deps;
  const finish = (res: ServerResponse): void => {
    const { req } = res;
    const meta = requestMeta(res);
    const durationMs = Number(process.hrtime.bigint() - meta.startedAt) / 1e6;
    const route = meta.route ?? routeOf(req);
    // A response cut off before it finished is logged with the status it was about to send (or 499).
    const status = res.writableFinished || res.headersSent ? res.statusCode : 499;
    const method = req.method ?? "GET";
    const line: Record<string, unknown> = {
      requestId: meta.requestId,
      method,
      route,
      status,
      durationMs: Math.round(durationMs * 100) / 100,
    };
    if (meta.clientId) line.clientId = meta.clientId;
    if (meta.userId) line.userId = meta.userId;
    if (meta.oauthError) line.oauthError = meta.oauthError;
    log.info(line, "request");
    events.emit("http.request", {
      method,
      route,
      status,
      durationMs,
      clientId: meta.clientId ?? null,
      userId: meta.userId ?? null,
      ip: meta.ip,
      userAgent: meta.userAgent,
      oauthError: meta.oauthError ?? null,
    });
  };
  // Shared listeners (`this` is the response). `close` follows `finish` too: only a response that never finished
  // is logged there.
  function onFinish(this: ServerResponse): void {
    finish(this);
  }
  function onClose(this: ServerResponse): void {
    if (!this.writableFinished) finish(this);
  }
  return (res) => {
    res.on("finish", onFinish);
    res.on("close", onClose);
  };
}
