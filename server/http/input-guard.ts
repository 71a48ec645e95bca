/**
 * The host's one guard against hostile text (issue 13), run on every request before any handler reads it: the request
 * target and headers at the edge (edge.ts), bodies where the host reads them (fetch-adapter.ts `readBody`). Pure
 * functions; the answer in each surface's own form is bad-request.ts.
 *
 * Refused, because nothing here can store or compare them safely (Postgres `text` refuses NUL, 22021; a lone
 * surrogate is silently turned into U+FFFD on its way to UTF-8; a btree index row must stay under ~2.7 KB):
 * - NUL, invalid UTF-8 (also percent-encoded, which `URLSearchParams` would quietly turn into U+FFFD) and lone
 *   surrogates (a JSON `\ud800` escape) in the path, the query, form fields and JSON strings (keys too, and JSON
 *   carried in a query parameter, as tRPC's GET `input`);
 * - a value longer than `INPUT_LIMITS.valueChars` (the OAuth endpoints keep their tighter limits, request-params.ts);
 * - a request target that is not origin-form: absolute-form naming another host (RFC 9112 §3.2.2; this server is not
 *   a proxy; absolute-form naming this server is rewritten to origin-form by `toOriginForm`), a path starting with
 *   `//` (WHATWG URL parsing reads it as a host), authority- and asterisk-form, non-ASCII or control characters;
 * - a header that must appear at most once, repeated (RFC 9110 §5.3; Host: RFC 9112 §3.2; Origin: RFC 6454 §7.3):
 *   Node keeps one of them, and a proxy in front may have read the other.
 */
import { isUtf8 } from "node:buffer";
import type { IncomingMessage } from "node:http";

export const INPUT_LIMITS = { valueChars: 8192 } as const;

/**
 * Where the bad input was: the registration endpoint answers body problems as `invalid_client_metadata`; a bad path
 * is not matched to a route (logs and analytics name it `unmatched`).
 */
export type InputPart = "path" | "query" | "header" | "body";

/** Input the host refuses; `description` is wire text (ours, ASCII, never echoing the input). */
export class BadInputError extends Error {
  constructor(
    readonly part: InputPart,
    readonly description: string,
  ) {
    super(description);
    this.name = "BadInputError";
  }
}

/**
 * RFC 9112 §3.2.2: a server MUST accept absolute-form and then use its authority, not Host. When that authority is
 * this server (APP_URL's host, or the Host header of a direct request) the target becomes origin-form in place, so
 * routing reads a path; any other target is left for `targetProblem` to refuse.
 */
export function toOriginForm(req: IncomingMessage, appHost: string): void {
  const target = req.url ?? "/";
  if (target.startsWith("/") || !/^https?:\/\//i.test(target)) return;
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return;
  }
  if (url.host === appHost || url.host === req.headers.host) req.url = url.pathname + url.search;
}

/** The problem with a request target (after `toOriginForm`), or null. */
export function targetProblem(target: string): BadInputError | null {
  if (!target.startsWith("/")) {
    return bad("path", /^https?:\/\//i.test(target) ? "The request target names another host; this server is not a proxy" : "The request target must be a path");
  }
  if (target.startsWith("//")) return bad("path", "The request path must not start with //");
  if (/[^\x21-\x7e]/.test(target)) return bad("path", "The request target must be printable ASCII");
  const query = target.indexOf("?");
  const path = query < 0 ? target : target.slice(0, query);
  if (path.includes("%")) {
    // RFC 3986 §2.1: `%` starts an escape of two hex digits; the router cannot decode a path with a lone one.
    if (/%(?![0-9A-Fa-f]{2})/.test(path)) return bad("path", "The request path has a malformed percent-escape");
    const problem = bytesProblem(percentDecode(path));
    if (problem) return bad("path", `The request path ${problem}`);
  }
  return query < 0 ? null : formProblem(target.slice(query + 1), "query", "query parameter");
}

/** Headers that must appear at most once, by length first (the loop runs on every request). */
const SINGLE = new Set(["host", "authorization", "content-type", "origin", "mcp-session-id", "mcp-protocol-version"]);
const SINGLE_LENGTHS = new Set([...SINGLE].map((name) => name.length));

/**
 * A repeated single-valued header in the raw list (name, value, name, value, …), or a Host that is not a host
 * (RFC 9112 §3.2: "a Host header field with an invalid field value" is a 400), or null.
 */
export function headerProblem(raw: readonly string[]): BadInputError | null {
  let seen: string[] | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (!SINGLE_LENGTHS.has(name.length)) continue;
    const lower = name.toLowerCase();
    if (!SINGLE.has(lower)) continue;
    if (seen?.includes(lower)) return bad("header", `Repeated ${canonical(lower)} header`);
    (seen ??= []).push(lower);
    if (lower === "host" && !isHost(raw[i + 1]!)) return bad("header", "The Host header is not a host name or address");
  }
  return null;
}

/** Answers for the Host values seen (a server is called by few names); bounded against a scan of made-up ones. */
const knownHosts = new Map<string, boolean>();

/** `uri-host [ ":" port ]` (RFC 9110 §7.2) as this server can use it: a DNS name, IPv4 or [IPv6], and a port. */
function isHost(value: string): boolean {
  const known = knownHosts.get(value);
  if (known !== undefined) return known;
  const valid = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*)|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/.test(value) && URL.canParse(`http://${value}/`);
  if (knownHosts.size >= 1000) knownHosts.clear();
  knownHosts.set(value, valid);
  return valid;
}

function canonical(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
}

/**
 * The problem with a request body, or null. Text bodies (forms, JSON, `text/*`, multipart, or no type at all) must
 * be UTF-8 without NUL; forms and JSON are looked into. Other types are left to their handlers.
 */
export function bodyProblem(body: Buffer, contentType: string | undefined): BadInputError | null {
  if (body.length === 0) return null;
  const type = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  const isForm = type === "application/x-www-form-urlencoded";
  const isJson = type === "application/json" || type.endsWith("+json");
  if (!isForm && !isJson && type !== "" && !type.startsWith("text/") && type !== "multipart/form-data") return null;
  if (body.includes(0)) return bad("body", "The request body must not contain NUL bytes");
  if (!isUtf8(body)) return bad("body", "The request body must be UTF-8");
  if (isForm) return formProblem(body.toString("utf8"), "body", "form field");
  if (isJson) {
    const problem = jsonProblem(body.toString("utf8"));
    if (problem) return bad("body", `A JSON string ${problem}`);
  }
  return null;
}

/** `application/x-www-form-urlencoded` (query strings and form bodies), decoded as the WHATWG URL Standard does. */
function formProblem(text: string, part: InputPart, what: string): BadInputError | null {
  for (const pair of text.split("&")) {
    if (!pair) continue;
    const eq = pair.indexOf("=");
    const name = eq < 0 ? pair : pair.slice(0, eq);
    const value = eq < 0 ? "" : pair.slice(eq + 1);
    const nameProblem = componentProblem(name);
    if (nameProblem) return bad(part, `A ${what} name ${nameProblem}`);
    const valueProblem = componentProblem(value);
    if (valueProblem) return bad(part, `A ${what} ${valueProblem}`);
  }
  return null;
}

function componentProblem(encoded: string): string | null {
  let text = encoded;
  if (encoded.includes("%")) {
    const bytes = percentDecode(encoded);
    const problem = bytesProblem(bytes);
    if (problem) return problem;
    text = bytes.toString("utf8");
  }
  if (text.length > INPUT_LIMITS.valueChars) return tooLong();
  // JSON in a query parameter (tRPC's GET `input`): its escapes can hide NUL and lone surrogates.
  return text.startsWith("{") || text.startsWith("[") ? jsonProblem(text) : null;
}

function tooLong(): string {
  return `is longer than ${INPUT_LIMITS.valueChars} characters`;
}

/** NUL or invalid UTF-8 in decoded bytes, as the end of a sentence; null when clean. */
function bytesProblem(bytes: Buffer): string | null {
  if (bytes.includes(0)) return "contains a NUL byte";
  if (!isUtf8(bytes)) return "is not valid UTF-8";
  return null;
}

/** Percent-decoding to bytes (WHATWG URL §1.3): `%XX` becomes a byte, anything else stays as it is. */
function percentDecode(text: string): Buffer {
  const input = Buffer.from(text, "utf8");
  const out = Buffer.allocUnsafe(input.length);
  let length = 0;
  for (let i = 0; i < input.length; i += 1) {
    const byte = input[i]!;
    if (byte === 0x25 && i + 2 < input.length && isHex(input[i + 1]) && isHex(input[i + 2])) {
      out[length++] = Number.parseInt(String.fromCharCode(input[i + 1]!, input[i + 2]!), 16);
      i += 2;
    } else {
      out[length++] = byte;
    }
  }
  return out.subarray(0, length);
}

function isHex(byte: number | undefined): boolean {
  return byte !== undefined && ((byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66));
}

const LONE_SURROGATE = /\p{Cs}/u;

/**
 * What is wrong with a string (key or value) of a JSON text, as the end of a sentence, or null. Raw NUL and invalid
 * UTF-8 were refused before; only `\u` escapes can make NUL or a lone surrogate, and no string is longer than the
 * text, so short text without escapes is clean without parsing (the MCP hot path). Text that does not parse is left
 * to the handler's own parse error.
 */
function jsonProblem(text: string): string | null {
  if (text.length <= INPUT_LIMITS.valueChars && !text.includes("\\u")) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  // Iterative: a deeply nested body must not overflow the stack.
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (typeof item === "string") {
      const problem = stringProblem(item);
      if (problem) return problem;
    } else if (Array.isArray(item)) {
      for (const element of item) stack.push(element);
    } else if (item !== null && typeof item === "object") {
      for (const [key, element] of Object.entries(item)) {
        stack.push(key, element);
      }
    }
  }
  return null;
}

function stringProblem(text: string): string | null {
  if (text.includes("\0")) return "contains a NUL character";
  if (LONE_SURROGATE.test(text)) return "contains a lone surrogate";
  if (text.length > INPUT_LIMITS.valueChars) return tooLong();
  return null;
}

function bad(part: InputPart, description: string): BadInputError {
  return new BadInputError(part, description);
}
