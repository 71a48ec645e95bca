/**
 * Redirect URI policy (pure): what may be registered, and whether a presented redirect_uri matches a registered one.
 *
 * - Registration (RFC 7591 §2, OAuth 2.1 §2.3.1, RFC 9700 §4.1.3, RFC 8252 §7): absolute URIs, no fragment
 *   (RFC 6749 §3.1.2), no wildcards, no userinfo; `https:`; `http:` only on a loopback host (127.0.0.1, [::1],
 *   localhost; RFC 8252 §7.3, §8.3); private-use schemes for native apps (`com.example.app:/cb`, RFC 8252 §7.1);
 *   never a scheme a browser executes or renders (`javascript:`, `data:`, `vbscript:`, `file:`, `blob:`, …).
 * - Matching (OAuth 2.1 §4.1.1, RFC 9700 §4.1.3): exact string comparison, except that a loopback `http:` redirect
 *   URI matches on any port (RFC 8252 §7.3: native apps get an ephemeral port at run time).
 *
 * Reused by the admin console for manually created clients.
 */
import { OAuthError } from "./errors.ts";

export const REDIRECT_URI_LIMITS = { maxCount: 20, maxLength: 2000 } as const;

/** Schemes that can never be a redirect target: they execute, render local data, or are not navigations. */
export const FORBIDDEN_REDIRECT_SCHEMES = new Set([
  "javascript",
  "data",
  "vbscript",
  "file",
  "blob",
  "about",
  "filesystem",
  "view-source",
  "ws",
  "wss",
  "ftp",
  "mailto",
  "tel",
  "sms",
  "urn",
  "jar",
]);

/** Hosts that are the local machine (RFC 8252 §7.3, §8.3). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  return host === "127.0.0.1" || host === "[::1]" || host === "localhost";
}

export type RedirectUriKind = "https" | "loopback" | "private-use";

export type RedirectUriCheck = { ok: true; kind: RedirectUriKind } | { ok: false; problem: string };

/** Checks one redirect URI for registration. Never throws. */
export function checkRedirectUri(value: unknown): RedirectUriCheck {
  if (typeof value !== "string" || value.length === 0) return { ok: false, problem: "must be a non-empty string" };
  if (value.length > REDIRECT_URI_LIMITS.maxLength) {
    return { ok: false, problem: `must be at most ${REDIRECT_URI_LIMITS.maxLength} characters` };
  }
  // eslint-disable-next-line no-control-regex -- control characters and spaces are what this refuses
  if (/[\u0000-\u0020\u007f-\u009f\\]/.test(value)) return { ok: false, problem: "must not contain spaces, backslashes or control characters" };
  if (value.includes("#")) return { ok: false, problem: "must not contain a fragment (RFC 6749 §3.1.2)" };
  if (value.includes("*")) return { ok: false, problem: "must not contain wildcards" };
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(value)?.[1]?.toLowerCase();
  if (!scheme) return { ok: false, problem: "must be an absolute URI" };
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { ok: false, problem: "must be a valid absolute URI" };
  }
  if (url.username || url.password) return { ok: false, problem: "must not contain user information" };
  if (FORBIDDEN_REDIRECT_SCHEMES.has(scheme)) return { ok: false, problem: `must not use the ${scheme}: scheme` };
  if (scheme === "https") {
    if (!url.hostname) return { ok: false, problem: "must name a host" };
    return { ok: true, kind: "https" };
  }
  if (scheme === "http") {
    if (!isLoopbackHost(url.hostname)) {
      return { ok: false, problem: "http: is allowed only for loopback hosts (127.0.0.1, [::1], localhost); use https:" };
    }
    return { ok: true, kind: "loopback" };
  }
  // A private-use scheme (RFC 8252 §7.1), e.g. com.example.app:/oauth2redirect or cursor://anysphere.cursor-mcp/cb.
  return { ok: true, kind: "private-use" };
}

/** The kind of an already registered (valid) redirect URI. */
export function redirectUriKind(uri: string): RedirectUriKind | undefined {
  const check = checkRedirectUri(uri);
  return check.ok ? check.kind : undefined;
}

/**
 * Validates a registration's `redirect_uris` (RFC 7591 §2): a non-empty array of acceptable, distinct URIs.
 * Throws `invalid_redirect_uri` (RFC 7591 §3.2.2) naming the position of the first bad one.
 */
export function validateRedirectUris(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new OAuthError("invalid_redirect_uri", "redirect_uris must be a non-empty array of URIs");
  }
  if (value.length > REDIRECT_URI_LIMITS.maxCount) {
    throw new OAuthError("invalid_redirect_uri", `at most ${REDIRECT_URI_LIMITS.maxCount} redirect_uris are allowed`);
  }
  const uris: string[] = [];
  for (const [index, uri] of value.entries()) {
    const check = checkRedirectUri(uri);
    if (!check.ok) {
      // Named by position: the value itself is not echoed back (RFC 7591 §3.2.2 descriptions are plain ASCII).
      throw new OAuthError("invalid_redirect_uri", `redirect_uris[${index}] ${check.problem}`);
    }
    if (!uris.includes(uri as string)) uris.push(uri as string);
  }
  return uris;
}

/**
 * Whether `presented` matches `registered` (OAuth 2.1 §4.1.1): the same string, or, for a loopback `http:` URI,
 * the same URI on any port (RFC 8252 §7.3). The host must still match literally: `localhost` is not `127.0.0.1`.
 */
export function redirectUriMatches(registered: string, presented: string): boolean {
  if (registered === presented) return true;
  const reg = parseLoopback(registered);
  const pre = parseLoopback(presented);
  if (!reg || !pre) return false;
  return reg.host === pre.host && reg.rest === pre.rest;
}

/** The registered URI that `presented` matches, if any. */
export function findRedirectUri(registered: readonly string[], presented: string): string | undefined {
  return registered.find((uri) => redirectUriMatches(uri, presented));
}

/** Splits `http://<loopback>[:port]<rest>` into host and rest, on the raw string (no normalisation). */
function parseLoopback(uri: string): { host: string; rest: string } | null {
  const match = /^http:\/\/(127\.0\.0\.1|\[::1\]|localhost)(?::(\d{1,5}))?([/?][^#]*)?$/.exec(uri);
  if (!match) return null;
  if (match[2] !== undefined && Number(match[2]) > 65535) return null;
  return { host: match[1], rest: match[3] ?? "" };
}
