/**
 * `GET /metrics`: the instance's registry in the Prometheus text format (version 0.0.4).
 *
 * Who may read it: a caller presenting `Authorization: Bearer <METRICS_TOKEN>` (compared in constant time), or a
 * caller whose address is in TRUSTED_IP_RANGES. With neither configured, only the machine itself (loopback) may;
 * metrics name routes, clients counts and error rates, which are not for the public.
 */
import type { Request, Response } from "express";
import { safeEqual, sha256Hex } from "../crypto.ts";
import type { Env } from "../env.ts";
import { bearerChallenge } from "../oauth/challenges.ts";
import { LOOPBACK, parseIpRanges } from "../request/ip-ranges.ts";
import type { Logger } from "../logger.ts";
import type { Registry } from "prom-client";

export type MetricsAccess = "token" | "trusted_ip" | "loopback";

export function metricsAccessCheck(env: Pick<Env, "METRICS_TOKEN" | "TRUSTED_IP_RANGES">) {
  const trusted = parseIpRanges(env.TRUSTED_IP_RANGES);
  // Digests of equal length make the comparison independent of the presented token's length.
  const tokenDigest = env.METRICS_TOKEN ? sha256Hex(env.METRICS_TOKEN) : undefined;
  const openToLoopback = !tokenDigest && trusted.empty;
  return (authorization: string | undefined, ip: string): { ok: true; via: MetricsAccess } | { ok: false; status: 401 | 403 } => {
    if (tokenDigest && authorization) {
      const match = /^Bearer +(\S+) *$/i.exec(authorization);
      if (match && safeEqual(sha256Hex(match[1]), tokenDigest)) return { ok: true, via: "token" };
    }
    if (trusted.contains(ip)) return { ok: true, via: "trusted_ip" };
    if (openToLoopback && LOOPBACK.contains(ip)) return { ok: true, via: "loopback" };
    return { ok: false, status: tokenDigest ? 401 : 403 };
  };
}

export function metricsHandler(options: { env: Env; registry: Registry; log: Logger }) {
  const check = metricsAccessCheck(options.env);
  return async (req: Request, res: Response) => {
    res.setHeader("Cache-Control", "no-store");
    const ip = (res.locals.meta as { ip?: string } | undefined)?.ip ?? req.socket.remoteAddress ?? "";
    const access = check(req.get("authorization"), ip);
    if (!access.ok) {
      if (access.status === 401) res.setHeader("WWW-Authenticate", bearerChallenge({ realm: "metrics" }));
      res.status(access.status).type("text/plain").send(access.status === 401 ? "Unauthorized\n" : "Forbidden\n");
      return;
    }
    try {
      const body = await options.registry.metrics();
      res.status(200).setHeader("Content-Type", options.registry.contentType);
      res.end(body);
    } catch (error) {
      options.log.warn({ err: error }, "collecting metrics failed");
      res.status(500).type("text/plain").send("Collecting metrics failed\n");
    }
  };
}
