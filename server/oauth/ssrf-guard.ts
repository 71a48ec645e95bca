/**
 * Fetching a URL that a stranger named (a Client ID Metadata Document) without letting them aim this server at
 * its own network (SSRF; draft-ietf-oauth-client-id-metadata-document §6, MCP Security Best Practices):
 *
 * 1. `https:` only, no user information.
 * 2. The host name is resolved here and EVERY address must be public unicast (ipaddr.js `range() === "unicast"`):
 *    no loopback, private (RFC 1918, unique-local), link-local (cloud metadata 169.254.169.254), carrier-grade NAT,
 *    multicast, reserved, or IPv6 forms that embed an IPv4 address (mapped, NAT64, 6to4, Teredo).
 * 3. The connection goes to the address that was checked (the resolver's answer is pinned, so a second DNS answer
 *    cannot rebind it), with TLS verified against the host name.
 * 4. No redirects are followed; only 200 is accepted; the body is cut off past `maxBytes` (5 KB); one deadline
 *    (`timeoutMs`, default 5 s) covers resolution, connection and body.
 *
 * The resolver and the transport are parameters so tests can stand in for the outside world; the checks are not.
 */
import dns from "node:dns";
import https from "node:https";
import type { LookupFunction } from "node:net";
import ipaddr from "ipaddr.js";

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export interface TransportResponse {
  status: number;
  headers: Record<string, string | undefined>;
  body: AsyncIterable<Uint8Array>;
  /** Stops reading and closes the connection. */
  close(): void;
}

/** Performs one GET to `url`, connecting to `address` only. */
export type Transport = (request: {
  url: URL;
  address: ResolvedAddress;
  headers: Record<string, string>;
  signal: AbortSignal;
}) => Promise<TransportResponse>;

export type GuardFailure = "url" | "address" | "resolution" | "redirect" | "status" | "too_large" | "timeout" | "network";

export class GuardedFetchError extends Error {
  constructor(
    readonly failure: GuardFailure,
    message: string,
  ) {
    super(message);
    this.name = "GuardedFetchError";
  }
}

export interface GuardedFetchOptions {
  maxBytes?: number;
  timeoutMs?: number;
  resolver?: Resolver;
  transport?: Transport;
  accept?: string;
}

export const GUARD_DEFAULTS = { maxBytes: 5 * 1024, timeoutMs: 5_000 } as const;

/** Whether an IP address is public unicast (the only kind this server will connect to on a stranger's behalf). */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  const parsed = ipaddr.parse(address);
  if (parsed.kind() === "ipv6") {
    const v6 = parsed as ipaddr.IPv6;
    if (v6.isIPv4MappedAddress()) return v6.toIPv4Address().range() === "unicast";
    // ::/96, "IPv4-compatible" addresses (RFC 4291 §2.5.5.1, deprecated): ipaddr.js calls them unicast, but on a
    // host that still tunnels them they reach the embedded IPv4 address. Nothing public lives there.
    if (v6.parts.slice(0, 6).every((part) => part === 0)) return false;
  }
  return parsed.range() === "unicast";
}

export const systemResolver: Resolver = async (hostname) => {
  const answers = await dns.promises.lookup(hostname, { all: true, verbatim: true });
  return answers.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

/** Node's https client, connecting to the pinned address, TLS checked against the URL's host name. */
export const httpsTransport: Transport = ({ url, address, headers, signal }) =>
  new Promise((resolve, reject) => {
    const lookup: LookupFunction = (_hostname, options, callback) => {
      if (options?.all) callback(null, [{ address: address.address, family: address.family }]);
      else callback(null, address.address, address.family);
    };
    const host = url.hostname.replace(/^\[|\]$/g, "");
    const request = https.request(
      url,
      {
        method: "GET",
        headers,
        signal,
        agent: false,
        lookup,
        ...(ipaddr.isValid(host) ? {} : { servername: host }),
        maxHeaderSize: 16 * 1024,
      },
      (response) => {
        const responseHeaders: Record<string, string | undefined> = {};
        for (const [key, value] of Object.entries(response.headers)) {
          responseHeaders[key] = Array.isArray(value) ? value.join(", ") : value;
        }
        resolve({ status: response.statusCode ?? 0, headers: responseHeaders, body: response, close: () => response.destroy() });
      },
    );
    request.on("error", reject);
    request.end();
  });

/** Checks the URL and returns the host to resolve, or throws. */
export function checkFetchUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new GuardedFetchError("url", "not a valid URL");
  }
  if (url.protocol !== "https:") throw new GuardedFetchError("url", "only https: URLs are fetched");
  if (url.username || url.password) throw new GuardedFetchError("url", "URLs with user information are not fetched");
  return url;
}

/** Resolves the URL's host and checks every address; returns the one to connect to. */
export async function resolvePublicAddress(url: URL, resolver: Resolver): Promise<ResolvedAddress> {
  const host = url.hostname.replace(/^\[|\]$/g, "");
  let addresses: ResolvedAddress[];
  if (ipaddr.isValid(host)) {
    addresses = [{ address: host, family: ipaddr.parse(host).kind() === "ipv6" ? 6 : 4 }];
  } else {
    try {
      addresses = await resolver(host);
    } catch {
      throw new GuardedFetchError("resolution", `could not resolve ${host}`);
    }
  }
  if (addresses.length === 0) throw new GuardedFetchError("resolution", `${host} has no address`);
  const blocked = addresses.find((a) => !isPublicAddress(a.address));
  if (blocked) throw new GuardedFetchError("address", `${host} resolves to a non-public address`);
  return addresses[0];
}

/** GETs a URL under the guard; returns the body as text. */
export async function guardedFetch(
  value: string,
  options: GuardedFetchOptions = {},
): Promise<{ status: number; contentType: string; text: string }> {
  const maxBytes = options.maxBytes ?? GUARD_DEFAULTS.maxBytes;
  const timeoutMs = options.timeoutMs ?? GUARD_DEFAULTS.timeoutMs;
  const url = checkFetchUrl(value);
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new GuardedFetchError("timeout", `no complete answer within ${timeoutMs} ms`));
    }, timeoutMs);
    timer.unref();
  });
  deadline.catch(() => {});
  const work = async () => {
    const address = await resolvePublicAddress(url, options.resolver ?? systemResolver);
    let response: TransportResponse;
    try {
      response = await (options.transport ?? httpsTransport)({
        url,
        address,
        headers: { Accept: options.accept ?? "application/json", "User-Agent": "mcp-oauth-server (client metadata fetch)" },
        signal: controller.signal,
      });
    } catch (error) {
      if (controller.signal.aborted) throw new GuardedFetchError("timeout", `no complete answer within ${timeoutMs} ms`);
      throw new GuardedFetchError("network", `could not fetch: ${(error as Error).message ?? "network error"}`.slice(0, 200));
    }
    try {
      if (response.status >= 300 && response.status < 400) throw new GuardedFetchError("redirect", "redirects are not followed");
      if (response.status !== 200) throw new GuardedFetchError("status", `answered HTTP ${response.status}`);
      const declared = Number(response.headers["content-length"]);
      if (Number.isFinite(declared) && declared > maxBytes) throw new GuardedFetchError("too_large", `larger than ${maxBytes} bytes`);
      const chunks: Uint8Array[] = [];
      let size = 0;
      for await (const chunk of response.body) {
        size += chunk.byteLength;
        if (size > maxBytes) throw new GuardedFetchError("too_large", `larger than ${maxBytes} bytes`);
        chunks.push(chunk);
      }
      const text = new TextDecoder("utf-8", { fatal: false }).decode(Buffer.concat(chunks));
      return { status: response.status, contentType: response.headers["content-type"] ?? "", text };
    } catch (error) {
      if (error instanceof GuardedFetchError) throw error;
      if (controller.signal.aborted) throw new GuardedFetchError("timeout", `no complete answer within ${timeoutMs} ms`);
      throw new GuardedFetchError("network", "the connection failed while reading the answer");
    } finally {
      response.close();
    }
  };
  const result = work();
  // A late failure after the deadline won must not surface as an unhandled rejection.
  result.catch(() => {});
  try {
    return await Promise.race([result, deadline]);
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}
