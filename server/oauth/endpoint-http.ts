/**
 * The HTTP shapes of the OAuth POST endpoints (token, revocation, introspection, registration), so that one endpoint
 * serves two hosts: a Remix resource route (Fetch `Request` in, `Response` out) and the Node host's fast path
 * (server/http/oauth-routes.ts, ADR 0014), which skips building a Fetch Request and Response for each call.
 *
 * - `OAuthHttpRequest`: the little of a request the endpoints read. A Fetch `Request` is one as it is;
 *   `bufferedRequest` makes one from a Node request whose body the host has already read (and guarded).
 * - `OAuthReply`: status, headers and a JSON text (or no body); `toResponse` turns it into a Fetch `Response`.
 */
import type { IncomingHttpHeaders } from "node:http";

export interface OAuthHttpRequest {
  readonly method: string;
  /** Absolute URL (origin + path + query). */
  readonly url: string;
  readonly headers: { get(name: string): string | null; has(name: string): boolean };
  arrayBuffer(): Promise<ArrayBuffer>;
}

export interface OAuthReply {
  status: number;
  headers: Record<string, string>;
  /** JSON text; null for an empty body. */
  body: string | null;
}

export function toResponse(reply: OAuthReply): Response {
  return new Response(reply.body, { status: reply.status, headers: reply.headers });
}

/**
 * Header lookup over Node's parsed headers with the Fetch `Headers.get` semantics the endpoints rely on: names are
 * case-insensitive (Node lower-cases them) and repeated values come back joined with ", ".
 */
class NodeHeaders {
  constructor(private readonly raw: IncomingHttpHeaders) {}

  get(name: string): string | null {
    const value = this.raw[name.toLowerCase()];
    if (value === undefined) return null;
    return Array.isArray(value) ? value.join(", ") : value;
  }

  has(name: string): boolean {
    return this.raw[name.toLowerCase()] !== undefined;
  }
}

/** A request whose body is already in memory: `url` is absolute, `body` what the host read. */
export function bufferedRequest(method: string, url: string, headers: IncomingHttpHeaders, body: Buffer): OAuthHttpRequest {
  return {
    method,
    url,
    headers: new NodeHeaders(headers),
    arrayBuffer: () => Promise.resolve(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer),
  };
}
