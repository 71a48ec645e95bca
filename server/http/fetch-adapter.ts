/**
 * Node <-> Fetch API bridge for the host: Remix and the MCP transports speak `Request`/`Response`.
 *
 * Unlike @remix-run/express it buffers request bodies with a hard size limit (so an oversize or endless body is a
 * 413, never a 500 or a hung worker), keeps several Set-Cookie headers apart, and flushes event streams at once.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import type { ReadableStream as NodeReadableStream } from "node:stream/web";
import { bodyProblem } from "./input-guard.ts";

/** Request bodies the host reads, for Remix and the MCP endpoints alike: 1 MB, beyond it 413. */
export const BODY_LIMIT_BYTES = 1024 * 1024;
/** Methods the Fetch API cannot even represent (`new Request` throws): the host answers them before trying. */
export const FETCH_FORBIDDEN_METHODS: ReadonlySet<string> = new Set(["CONNECT", "TRACE", "TRACK"]);

export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`Request body larger than ${limit} bytes`);
  }
}

/**
 * The client went away before its body arrived (it disconnected, or Node cut it off at HTTP_REQUEST_TIMEOUT_SECONDS
 * with a 408): nobody is left to answer, and nothing went wrong here.
 */
export class ClientGoneError extends Error {
  constructor(cause: unknown) {
    super("The client closed the connection before sending its whole request", { cause });
    this.name = "ClientGoneError";
  }
}

/**
 * Reads a request body up to `limit` bytes (beyond it BodyTooLargeError) and puts it through the input guard
 * (input-guard.ts: NUL, invalid UTF-8, lone surrogates, over-long values; BadInputError). Every body the host reads
 * comes through here.
 */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) throw new BodyTooLargeError(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > limit) {
        req.resume();
        throw new BodyTooLargeError(limit);
      }
      chunks.push(chunk as Buffer);
    }
  } catch (error) {
    // Node's IncomingMessage fails with "aborted" (ECONNRESET) when the connection closes mid-body.
    if (!(error instanceof BodyTooLargeError) && (req.destroyed || req.socket.destroyed)) throw new ClientGoneError(error);
    throw error;
  }
  const body = Buffer.concat(chunks);
  const problem = bodyProblem(body, req.headers["content-type"]);
  if (problem) throw problem;
  return body;
}

export function toFetchHeaders(raw: IncomingMessage["headers"]): Headers {
  const headers = new Headers();
  for (const [key, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) headers.append(key, v);
    else headers.set(key, value);
  }
  return headers;
}

/**
 * Builds a Fetch Request for a Node request. `origin` is the scheme+host the request is addressed to; the request
 * is aborted when the client goes away before the response is finished. `dropQuery` leaves the query string out.
 */
export async function toFetchRequest(
  req: IncomingMessage,
  res: ServerResponse,
  options: { origin: string; bodyLimit: number; dropQuery?: boolean },
): Promise<Request> {
  const controller = new AbortController();
  res.on("close", () => {
    if (!res.writableFinished) controller.abort();
  });
  const init: RequestInit & { duplex?: "half" } = {
    method: req.method,
    headers: toFetchHeaders(req.headers),
    signal: controller.signal,
  };
  if (req.method !== "GET" && req.method !== "HEAD") {
    const body = await readBody(req, options.bodyLimit);
    if (body.length > 0) init.body = new Uint8Array(body);
  }
  const target = req.url ?? "/";
  const url = new URL(options.dropQuery ? target.split("?")[0]! : target, options.origin);
  return new Request(url, init);
}

export async function sendFetchResponse(res: ServerResponse, response: Response): Promise<void> {
  res.statusCode = response.status;
  if (response.statusText) res.statusMessage = response.statusText;
  for (const [key, value] of response.headers) {
    if (key === "set-cookie") continue;
    res.setHeader(key, value);
  }
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) res.setHeader("set-cookie", cookies);
  if (!response.body) {
    res.end();
    return;
  }
  if (/text\/event-stream/i.test(response.headers.get("content-type") ?? "")) res.flushHeaders();
  const body = Readable.fromWeb(response.body as NodeReadableStream);
  await new Promise<void>((resolve) => {
    res.on("close", () => {
      body.destroy();
      resolve();
    });
    body.on("error", () => res.destroy());
    body.pipe(res);
  });
}
