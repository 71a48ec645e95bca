/**
 * Reading OAuth request parameters (pure apart from reading the body).
 *
 * - POST endpoints take `application/x-www-form-urlencoded` (RFC 6749 §4.1.3, RFC 7009 §2.1, RFC 7662 §2.1) and, for
 *   the original's clients, a JSON object of strings. Anything else is `invalid_request`.
 * - Parameters MUST NOT be repeated (RFC 6749 §3.1, §3.2), except `resource` (RFC 8707 §2).
 * - Credentials never travel in a query string (OAuth 2.1 §3.2, RFC 6750 §2.3, RFC 9700 §4.3.2): a POST endpoint
 *   with any query parameter is refused.
 * - Sizes are bounded: a small body, short values.
 */
import { OAuthError } from "./errors.ts";
import type { OAuthHttpRequest } from "./endpoint-http.ts";

export const PARAM_LIMITS = { bodyBytes: 16 * 1024, valueLength: 4096, count: 50 } as const;

/** Parameters that may appear more than once. */
const MULTI_VALUED = new Set(["resource"]);

export class Params {
  constructor(private readonly values: Map<string, string[]>) {}

  /** The single value of `name` (undefined when absent; empty strings count as absent, RFC 6749 §3.1). */
  get(name: string): string | undefined {
    const value = this.values.get(name)?.[0];
    return value === "" ? undefined : value;
  }

  getAll(name: string): string[] {
    return (this.values.get(name) ?? []).filter((v) => v !== "");
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** Throws invalid_request naming the first missing parameter. */
  require(name: string): string {
    const value = this.get(name);
    if (value === undefined) throw new OAuthError("invalid_request", `${name} is required`);
    return value;
  }

  names(): string[] {
    return [...this.values.keys()];
  }
}

/** A parameter's name for an error description: ours are lower-case words; anything else is not repeated back. */
function shownName(name: string): string {
  return /^[a-z_]{1,40}$/.test(name) ? name : "a parameter";
}

function fromPairs(pairs: Iterable<[string, string]>): Params {
  const values = new Map<string, string[]>();
  let count = 0;
  for (const [name, value] of pairs) {
    if (++count > PARAM_LIMITS.count) throw new OAuthError("invalid_request", "too many parameters");
    if (value.length > PARAM_LIMITS.valueLength) throw new OAuthError("invalid_request", `${shownName(name)} is too long`);
    const list = values.get(name);
    if (list) {
      if (!MULTI_VALUED.has(name)) throw new OAuthError("invalid_request", `${shownName(name)} must not be repeated (RFC 6749 §3.1)`);
      list.push(value);
    } else {
      values.set(name, [value]);
    }
  }
  return new Params(values);
}

/** Parameters of a query string (authorization endpoint). */
export function queryParams(url: URL): Params {
  return fromPairs(url.searchParams);
}

/** Parameters of a POST body (token, revocation, introspection endpoints). */
export async function bodyParams(request: OAuthHttpRequest, options: { json?: boolean } = {}): Promise<Params> {
  if (request.method !== "POST") throw new OAuthError("invalid_request", "use POST", { status: 405 });
  if (new URL(request.url).search.length > 1) {
    throw new OAuthError("invalid_request", "parameters must be sent in the request body, never in the query string");
  }
  const contentType = (request.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
  const isForm = contentType === "application/x-www-form-urlencoded";
  const isJson = options.json !== false && contentType === "application/json";
  if (!isForm && !isJson) {
    throw new OAuthError("invalid_request", "the body must be application/x-www-form-urlencoded", { status: 415 });
  }
  const text = await readText(request, PARAM_LIMITS.bodyBytes);
  if (isForm) return fromPairs(new URLSearchParams(text));
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new OAuthError("invalid_request", "the body is not valid JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new OAuthError("invalid_request", "the JSON body must be an object");
  }
  const pairs: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(parsed)) {
    if (value === null || value === undefined) continue;
    if (typeof value === "string") pairs.push([name, value]);
    else if (typeof value === "number" || typeof value === "boolean") pairs.push([name, String(value)]);
    else if (MULTI_VALUED.has(name) && Array.isArray(value) && value.every((v) => typeof v === "string")) {
      for (const v of value) pairs.push([name, v]);
    } else throw new OAuthError("invalid_request", `${shownName(name)} must be a string`);
  }
  return fromPairs(pairs);
}

/** Reads a body as text with a size bound (the host already caps bodies at 1 MB). */
export async function readText(request: OAuthHttpRequest, limit: number): Promise<string> {
  const declared = Number(request.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > limit) {
    throw new OAuthError("invalid_request", `the body must be at most ${limit} bytes`, { status: 413 });
  }
  const buffer = await request.arrayBuffer();
  if (buffer.byteLength > limit) throw new OAuthError("invalid_request", `the body must be at most ${limit} bytes`, { status: 413 });
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(buffer);
  } catch {
    throw new OAuthError("invalid_request", "the body must be UTF-8");
  }
}
