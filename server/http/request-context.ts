/**
 * The host's side of the per-request facts (RequestMeta, server/request/meta.ts): made once per request with its
 * id, client IP and lazy CSP nonce, kept in `res.locals.meta`.
 *
 * Works on plain Node requests: the host's fast path for the MCP endpoints (edge.ts) runs without Express.
 */
import { randomBytes, randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { RequestMeta } from "../request/meta.ts";

/** Called when a response's nonce is first read, before its headers are sent: puts it into the CSP header. */
export type NonceListener = (res: ServerResponse, nonce: string) => void;

class HostRequestMeta implements RequestMeta {
  route?: string = undefined;
  clientId?: string | null = undefined;
  userId?: string | null = undefined;
  oauthError?: string | null = undefined;
  // Private (#): a spread or JSON copy of the meta never carries the response.
  #nonce: string | undefined = undefined;
  readonly #res: ServerResponse;
  readonly #onNonce: NonceListener;

  constructor(
    readonly requestId: string,
    readonly startedAt: bigint,
    readonly ip: string,
    readonly userAgent: string | null,
    res: ServerResponse,
    onNonce: NonceListener,
  ) {
    this.#res = res;
    this.#onNonce = onNonce;
  }

  get cspNonce(): string {
    if (this.#nonce === undefined) {
      // 128 bits from the CSPRNG (CSP3 asks for at least 128). randomBytes costs ~25 µs on this machine: pages only.
      this.#nonce = randomBytes(16).toString("base64");
      if (!this.#res.headersSent) this.#onNonce(this.#res, this.#nonce);
    }
    return this.#nonce;
  }
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

export function requestMeta(res: ServerResponse): RequestMeta {
  return (res as unknown as { locals: { meta: RequestMeta } }).locals.meta;
}

/**
 * Creates the request's meta, keeps it in `res.locals.meta` (Express's place for per-request data) and answers
 * with `X-Request-Id`.
 */
export function createRequestMeta(req: IncomingMessage, res: ServerResponse, trustProxy: boolean, onNonce: NonceListener): RequestMeta {
  const incoming = req.headers["x-request-id"];
  const userAgent = req.headers["user-agent"];
  const meta = new HostRequestMeta(
    typeof incoming === "string" && REQUEST_ID.test(incoming) ? incoming : randomUUID(),
    process.hrtime.bigint(),
    clientIp(req, trustProxy),
    userAgent === undefined ? null : userAgent.slice(0, 512),
    res,
    onNonce,
  );
  const holder = res as unknown as { locals?: Record<string, unknown> };
  if (holder.locals) holder.locals.meta = meta;
  else holder.locals = { meta };
  res.setHeader("X-Request-Id", meta.requestId);
  return meta;
}

/**
 * The caller's address. With TRUST_PROXY one proxy hop is believed: the last `X-Forwarded-For` entry (what that
 * proxy saw), exactly as Express computes `req.ip` with `trust proxy` = 1; otherwise the socket's peer, so the header
 * cannot be spoofed. `::ffff:a.b.c.d` becomes `a.b.c.d`.
 */
export function clientIp(req: IncomingMessage, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = req.headers["x-forwarded-for"];
    const last = typeof forwarded === "string" ? lastForwarded(forwarded) : undefined;
    if (last) return normaliseIp(last);
  }
  return normaliseIp(req.socket.remoteAddress ?? "");
}

/** The last non-empty entry of an X-Forwarded-For list, spaces trimmed (the `forwarded` package's parsing). */
function lastForwarded(header: string): string | undefined {
  const entries = header.split(",");
  for (let i = entries.length - 1; i >= 0; i -= 1) {
    const entry = entries[i]!.replace(/^ +| +$/g, "");
    if (entry) return entry;
  }
  return undefined;
}

/** `::ffff:127.0.0.1` -> `127.0.0.1`. */
export function normaliseIp(ip: string): string {
  return ip.startsWith("::ffff:") && ip.includes(".") ? ip.slice(7) : ip;
}
