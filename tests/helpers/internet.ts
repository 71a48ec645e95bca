/**
 * The internet as seen from the server's SSRF-guarded fetches (Client ID Metadata Documents): `client.example` and
 * `other.example` resolve to a public address and answer with `documents[url]` (404 when absent);
 * `internal.example` resolves to a private one; any other name does not resolve. Only the network is simulated;
 * the guard itself runs unchanged.
 */
import type { Resolver, Transport } from "../../server/oauth/ssrf-guard.ts";

export function internet(documents: Record<string, unknown>): { resolver: Resolver; transport: Transport } {
  const resolver: Resolver = async (host) => {
    if (host === "client.example" || host === "other.example") return [{ address: "93.184.215.14", family: 4 }];
    if (host === "internal.example") return [{ address: "10.0.0.8", family: 4 }];
    throw new Error("NXDOMAIN");
  };
  const transport: Transport = async ({ url }) => {
    const body = documents[url.href];
    return {
      status: body === undefined ? 404 : 200,
      headers: { "content-type": "application/json" },
      body: (async function* () {
        yield new TextEncoder().encode(body === undefined ? "" : JSON.stringify(body));
      })(),
      close() {},
    };
  };
  return { resolver, transport };
}
