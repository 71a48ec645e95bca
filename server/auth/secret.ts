/**
 * AUTH_SECRET signs session cookies. Production must set it (the env schema refuses to start without it); in
 * development and test one is generated on first start and kept in `<DATA_DIR>/auth-secret` so sessions survive
 * restarts.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Env } from "../env.ts";
import type { Logger } from "../logger.ts";

export function ensureAuthSecret(env: Env, log: Logger): Env {
  if (env.AUTH_SECRET) return env;
  const file = path.resolve(env.DATA_DIR, "auth-secret");
  let secret = existsSync(file) ? readFileSync(file, "utf8").trim() : "";
  if (secret.length < 32) {
    secret = randomBytes(32).toString("hex");
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, secret + "\n", { mode: 0o600 });
    log.warn({ file }, "AUTH_SECRET not set: generated a development secret");
  }
  return { ...env, AUTH_SECRET: secret };
}
