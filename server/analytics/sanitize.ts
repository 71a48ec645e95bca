/**
 * Defence in depth for what reaches the analytics tables: event payloads are not supposed to carry a token, code or
 * secret (server/events.ts), but a row lives for ANALYTICS_RETENTION_DAYS and is read by every admin, so strings are
 * bounded and anything shaped like one of our secrets, or stored under a secret-sounding key, is replaced.
 */
import { SecretPrefix } from "../crypto.ts";

const SECRET_KEY = /(token|secret|password|passwd|authorization|cookie|verifier|^code$|_code$|credential|assertion|session)/i;
const SECRET_VALUE = new RegExp(
  `(${Object.values(SecretPrefix)
    .filter((p) => p !== SecretPrefix.clientId)
    .join("|")})[A-Za-z0-9_-]{8,}|\\bBearer\\s+\\S+|\\beyJ[A-Za-z0-9_-]{10,}\\.[A-Za-z0-9_-]+`,
  "g",
);
export const REDACTED = "[redacted]";

/** Cuts a string to `max` characters and masks secret-shaped substrings; null for empty or missing. */
export function cleanText(value: unknown, max: number): string | null {
  if (value === null || value === undefined) return null;
  const text = String(value);
  if (text.length === 0) return null;
  return text.slice(0, max).replace(SECRET_VALUE, REDACTED);
}

/**
 * A JSON-safe copy of an event's details: at most 4 levels, 30 keys per object, 20 items per array, strings of 500
 * characters; values under secret-sounding keys are replaced.
 */
export function cleanDetails(value: unknown, depth = 0): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === "string") return cleanText(value, 500);
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (typeof value === "boolean") return value;
  if (value instanceof Date) return value.toISOString();
  if (depth >= 4) return "[truncated]";
  if (Array.isArray(value)) return value.slice(0, 20).map((item) => cleanDetails(item, depth + 1));
  if (typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value as Record<string, unknown>).slice(0, 30)) {
      out[key.slice(0, 100)] = SECRET_KEY.test(key) ? REDACTED : cleanDetails(item, depth + 1);
    }
    return out;
  }
  return null;
}
