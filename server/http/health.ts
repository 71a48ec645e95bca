/**
 * GET /api/health: 200 when the database answers, 503 within 2 s when it does not (never hangs), and healthy
 * again as soon as it is back (the pool makes a fresh connection for each probe after a failure). A 503 carries
 * `Retry-After` (RFC 9110 §10.2.3), like every answer given while the database is unreachable (db/availability.ts).
 */
import type { Request, Response } from "express";
import { DATABASE_RETRY_AFTER_SECONDS } from "../db/availability.ts";
import type { HostServices } from "./host-services.ts";

const PROBE_TIMEOUT_MS = 1_500;

export async function databaseReachable(services: Pick<HostServices, "db">): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), PROBE_TIMEOUT_MS);
  });
  const probe = services.db.pool
    .query("SELECT 1")
    .then(() => true)
    .catch(() => false);
  try {
    return await Promise.race([probe, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function healthHandler(services: Pick<HostServices, "db">) {
  const startedAt = Date.now();
  return async (_req: Request, res: Response) => {
    const ok = await databaseReachable(services);
    res.setHeader("Cache-Control", "no-store");
    if (!ok) res.setHeader("Retry-After", String(DATABASE_RETRY_AFTER_SECONDS));
    res.status(ok ? 200 : 503).json({
      status: ok ? "healthy" : "unhealthy",
      database: ok ? "connected" : "disconnected",
      version: process.env.npm_package_version ?? "0.1.0",
      uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
      timestamp: new Date().toISOString(),
    });
  };
}
