/**
 * `returnTo` after sign-in: only a path on this origin, so /login can never be used as an open redirector
 * (RFC 9700 §4.11; OWASP "Unvalidated Redirects and Forwards").
 *
 * Refused (the fallback is used instead): anything but a string starting with one `/`; scheme-relative `//host`;
 * backslashes anywhere (browsers read `/\host` as `//host`); control characters and whitespace escapes that URL
 * parsers strip (`/\t/host`); and any value whose *normalised* path starts with `//` — dot segments collapse, so
 * `/..//evil.com` and `/%2e%2e//evil.com` both normalise to `//evil.com`. The value returned is the normalised one,
 * which is what the browser would request.
 */
const SAME_ORIGIN = "http://same-origin.invalid";

/** Long enough for an authorization request (metadata-document client_id, long state) to come back to consent. */
export const RETURN_TO_MAX_LENGTH = 8192;

export function safeReturnTo(value: unknown, fallback = "/"): string {
  if (typeof value !== "string" || value.length === 0 || value.length > RETURN_TO_MAX_LENGTH) return fallback;
  if (!value.startsWith("/") || value.startsWith("//")) return fallback;
  // eslint-disable-next-line no-control-regex -- control characters are exactly what this refuses
  if (/[\u0000-\u001f\u007f-\u009f\\]/.test(value)) return fallback;
  let url: URL;
  try {
    url = new URL(value, SAME_ORIGIN);
  } catch {
    return fallback;
  }
  if (url.origin !== SAME_ORIGIN) return fallback;
  const normalised = url.pathname + url.search + url.hash;
  if (!normalised.startsWith("/") || normalised.startsWith("//") || normalised.includes("\\")) return fallback;
  return normalised;
}
