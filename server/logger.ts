/**
 * JSON logs (pino). Secrets never reach a log line: request headers are not logged at all, and the paths below are
 * redacted wherever a caller passes such an object by mistake.
 *
 * Hot path (bench/mcp.ts): the one access line per request goes through `accessLogger()`, a child without the
 * redaction pass (its fields are fixed and never carry a secret; redaction cost ~10 µs a line, most of the line's
 * cost). Standard output is written asynchronously in batches of at least 4 KB or every 250 ms, and synchronously
 * at process exit (pino registers the flush), so a burst of requests costs one write(2) per batch, not per line.
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

/** Bytes gathered before a write, the longest a line waits, and the most held while stdout cannot keep up. */
const STDOUT_BATCH_BYTES = 4096;
const STDOUT_FLUSH_MS = 250;
const STDOUT_MAX_BUFFER_BYTES = 64 * 1024 * 1024;

/**
 * Standard output, asynchronous and batched. Lines are flushed at exit (also `process.exit()` after a fatal
 * error). Beyond 64 MB waiting for a stuck reader, lines are dropped rather than growing memory without bound.
 */
export function stdoutDestination(fd: number | string = 1): pino.DestinationStream {
  return pino.destination({
    dest: fd,
    sync: false,
    minLength: STDOUT_BATCH_BYTES,
    periodicFlush: STDOUT_FLUSH_MS,
    maxLength: STDOUT_MAX_BUFFER_BYTES,
  });
}

/** ISO-8601 time as pino's `isoTime` writes it, with the date part formatted once per second. */
function isoTime(): () => string {
  let second = -1;
  let prefix = "";
  return () => {
    const now = Date.now();
    const current = Math.floor(now / 1000);
    if (current !== second) {
      second = current;
      // `2026-01-02T03:04:05.` (20 characters)
      prefix = `,"time":"${new Date(current * 1000).toISOString().slice(0, 20)}`;
    }
    const ms = now - current * 1000;
    return `${prefix}${ms < 10 ? "00" : ms < 100 ? "0" : ""}${ms}Z"`;
  };
}

export function createLogger(
  level: string,
  options: { destination?: pino.DestinationStream; mixin?: () => Record<string, unknown> } = {},
): Logger {
  return pino(
    {
      level,
      base: { service: "mcp-oauth-server" },
      timestamp: isoTime(),
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: redactPaths, censor: "[redacted]" },
      mixin: options.mixin,
    },
    options.destination ?? (level === "silent" ? undefined : stdoutDestination()),
  );
}

/**
 * `log` without the redaction pass, for the per-request access line only: every field of that line is known to be
 * safe (request id, method, route pattern, status, duration, internal ids). Never pass it anything else.
 */
export function accessLogger(log: Logger): Logger {
  return log.child({}, { redact: { paths: [] } });
}
