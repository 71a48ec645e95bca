/**
 * JSON logs (pino). Secrets never reach a log line: request headers are not logged at all, and the paths below are
 * redacted wherever a caller passes such an object by mistake.
 */
import pino from "pino";

export type Logger = pino.Logger;

export const redactPaths = [
  "authorization",
  "cookie",
  "password",
  "token",
  "access_token",
  "refresh_token",
  "client_secret",
  "code",
  "code_verifier",
  "secret",
  "*.authorization",
  "*.cookie",
  "*.password",
  "*.token",
  "*.access_token",
  "*.refresh_token",
  "*.client_secret",
  "*.code",
  "*.code_verifier",
  "*.secret",
  "req.headers",
  "res.headers",
];

export function createLogger(
  level: string,
  options: { destination?: pino.DestinationStream; mixin?: () => Record<string, unknown> } = {},
): Logger {
  return pino(
    {
      level,
      base: { service: "mcp-oauth-server" },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: redactPaths, censor: "[redacted]" },
      mixin: options.mixin,
    },
    options.destination,
  );
}
