/**
 * One JSON log line per request (request id, method, route pattern, status, duration) and the `http.request`
 * domain event. Never headers, query strings, cookies or bodies: they carry tokens and codes.
 */
import type { NextFunction, Request, Response } from "express";
import type { Services } from "../services.ts";
import { requestMeta } from "./request-context.ts";

export function accessLog(services: Services, routeOf: (req: Request) => string) {
  return (req: Request, res: Response, next: NextFunction) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      const meta = requestMeta(res);
      const durationMs = Number(process.hrtime.bigint() - meta.startedAt) / 1e6;
      const route = meta.route ?? routeOf(req);
      // A response cut off before it finished is logged with the status it was about to send (or 499).
      const status = res.writableFinished || res.headersSent ? res.statusCode : 499;
      services.log.info(
        {
          requestId: meta.requestId,
          method: req.method,
          route,
          status,
          durationMs: Math.round(durationMs * 100) / 100,
          ...(meta.clientId ? { clientId: meta.clientId } : {}),
          ...(meta.userId ? { userId: meta.userId } : {}),
          ...(meta.oauthError ? { oauthError: meta.oauthError } : {}),
        },
        "request",
      );
      services.events.emit("http.request", {
        method: req.method,
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
    res.on("finish", finish);
    res.on("close", finish);
    next();
  };
}
