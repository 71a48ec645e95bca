/**
 * Client ID Metadata Document fetching, attacked (draft-ietf-oauth-client-id-metadata-document §6, MCP Security
 * Best Practices "Server-Side Request Forgery"): address forms that reach a private network, DNS rebinding between
 * the check and the connection, redirects, huge, slow and non-JSON bodies, and the error text as an oracle.
 */
import { describe, expect, it } from "vitest";
import { MetadataDocumentFetcher } from "../../server/oauth/metadata-documents.ts";
import { guardedFetch, isPublicAddress, type ResolvedAddress, type Resolver, type Transport } from "../../server/oauth/ssrf-guard.ts";
import type { OAuthError } from "../../server/oauth/errors.ts";

const URL_ = "https://client.example/oauth/client.json";

function transportAnswering(answer: () => { status: number; headers?: Record<string, string>; chunks: Uint8Array[]; delayMs?: number }) {
  const connections: string[] = [];
  const transport: Transport = async ({ address, signal }) => {
    connections.push(address.address);
    const { status, headers = {}, chunks, delayMs = 0 } = answer();
    return {
      status,
      headers,
      body: (async function* () {
        for (const chunk of chunks) {
          if (delayMs) await new Promise((resolve, reject) => {
            const timer = setTimeout(resolve, delayMs);
            signal.addEventListener("abort", () => (clearTimeout(timer), reject(new Error("aborted"))));
          });
          yield chunk;
        }
      })(),
      close() {},
    };
  };
  return { transport, connections };
}

const json = (value: unknown) => [new TextEncoder().encode(JSON.stringify(value))];
const document = { client_id: URL_, client_name: "Doc", redirect_uris: ["http://127.0.0.1/cb"], token_endpoint_auth_method: "none" };

async function description(fetcher: MetadataDocumentFetcher, url = URL_): Promise<{ description: string; reason: string }> {
  try {
    await fetcher.load(url);
  } catch (error) {
    return { description: (error as OAuthError).description, reason: (error as OAuthError).reason };
  }
  throw new Error("expected a refusal");
}

describe("SSRF guard: addresses that reach a private network (CIMD draft §6)", () => {
  it.each([
    ["IPv4-compatible IPv6 of a private address (::10.0.0.1, RFC 4291 §2.5.5.1)", "::a00:1"],
    ["IPv4-compatible IPv6 of loopback", "::7f00:1"],
    ["IPv4-compatible IPv6 of the metadata service", "::a9fe:a9fe"],
    ["IPv4-mapped loopback", "::ffff:127.0.0.1"],
    ["NAT64 local-use prefix (RFC 8215)", "64:ff9b:1::a00:1"],
    ["the unspecified address", "0.0.0.0"],
    ["site-local (deprecated) IPv6", "fec0::1"],
  ])("%s (%s) is not public", (_name, address) => {
    expect(isPublicAddress(address)).toBe(false);
  });

  it("DNS rebinding: the connection goes to the address that was checked, resolved once", async () => {
    let lookups = 0;
    // A rebinding resolver: public on the first question, loopback afterwards.
    const resolver: Resolver = async (): Promise<ResolvedAddress[]> => (lookups++ === 0 ? [{ address: "93.184.215.14", family: 4 }] : [{ address: "127.0.0.1", family: 4 }]);
    const { transport, connections } = transportAnswering(() => ({ status: 200, chunks: json(document) }));
    await guardedFetch(URL_, { resolver, transport });
    expect(lookups).toBe(1);
    expect(connections).toEqual(["93.184.215.14"]);
  });

  it("a resolver answer that mixes a public and a private address is refused before connecting", async () => {
    const resolver: Resolver = async () => [
      { address: "93.184.215.14", family: 4 },
      { address: "10.1.2.3", family: 4 },
    ];
    const { transport, connections } = transportAnswering(() => ({ status: 200, chunks: json(document) }));
    await expect(guardedFetch(URL_, { resolver, transport })).rejects.toMatchObject({ failure: "address" });
    expect(connections).toEqual([]);
  });
});

describe("Client metadata documents: hostile answers", () => {
  const publicResolver: Resolver = async () => [{ address: "93.184.215.14", family: 4 }];

  it.each([
    ["a redirect to an internal address", () => ({ status: 302, headers: { location: "http://169.254.169.254/latest/meta-data/" }, chunks: [] }), "metadata_document_redirect"],
    ["a huge body without Content-Length", () => ({ status: 200, chunks: Array.from({ length: 100 }, () => new Uint8Array(1024).fill(32)) }), "metadata_document_too_large"],
    ["a huge declared Content-Length", () => ({ status: 200, headers: { "content-length": "99999999" }, chunks: [] }), "metadata_document_too_large"],
    ["a slow body (one byte at a time)", () => ({ status: 200, chunks: Array.from({ length: 50 }, () => new Uint8Array([32])), delayMs: 20 }), "metadata_document_timeout"],
    ["HTML instead of JSON", () => ({ status: 200, chunks: [new TextEncoder().encode("<html>hello</html>")] }), "metadata_document_invalid"],
    ["JSON whose client_id is another URL", () => ({ status: 200, chunks: json({ ...document, client_id: "https://other.example/c.json" }) }), "metadata_document_invalid"],
  ])("%s is refused (invalid_client)", async (_name, answer, reason) => {
    const { transport } = transportAnswering(answer);
    const fetcher = new MetadataDocumentFetcher({ resolver: publicResolver, transport, timeoutMs: 300 });
    expect((await description(fetcher)).reason).toBe(reason);
  });

  it("the error does not tell a stranger whether an internal host name exists (no DNS oracle)", async () => {
    const { transport } = transportAnswering(() => ({ status: 200, chunks: json(document) }));
    const unresolvable = new MetadataDocumentFetcher({ resolver: async () => Promise.reject(new Error("ENOTFOUND")), transport });
    const internal = new MetadataDocumentFetcher({ resolver: async () => [{ address: "10.0.0.5", family: 4 }], transport });
    const a = await description(unresolvable);
    const b = await description(internal);
    expect(a.reason).not.toBe(b.reason);
    expect(a.description).toBe(b.description);
  });

  it("transport error details (addresses, certificates) are not passed on to the client", async () => {
    const transport: Transport = async () => {
      throw new Error("Hostname/IP does not match certificate's altnames: IP: 93.184.215.14 is not in the cert's list: DNS:internal.corp");
    };
    const fetcher = new MetadataDocumentFetcher({ resolver: publicResolver, transport });
    const { description: text, reason } = await description(fetcher);
    expect(reason).toBe("metadata_document_network");
    expect(text).not.toMatch(/internal\.corp|93\.184|altnames/);
  });
});

describe("Client metadata documents: this server as an amplifier", () => {
  const publicResolver: Resolver = async () => [{ address: "93.184.215.14", family: 4 }];

  it("many simultaneous requests naming one uncached document fetch it once", async () => {
    const { transport, connections } = transportAnswering(() => ({ status: 200, chunks: json(document), delayMs: 30 }));
    const fetcher = new MetadataDocumentFetcher({ resolver: publicResolver, transport });
    const results = await Promise.all(Array.from({ length: 25 }, () => fetcher.load(URL_)));
    expect(results.every((r) => r.name === "Doc")).toBe(true);
    expect(connections).toHaveLength(1);
  });

  it("at most a bounded number of documents are fetched at once; beyond it a request is refused at once, not queued", async () => {
    const { transport, connections } = transportAnswering(() => ({ status: 200, chunks: [new Uint8Array([32])], delayMs: 200 }));
    const fetcher = new MetadataDocumentFetcher({ resolver: publicResolver, transport, maxConcurrentFetches: 3 });
    const urls = Array.from({ length: 6 }, (_, i) => `https://client.example/c${i}.json`);
    const started = Date.now();
    const outcomes = await Promise.all(urls.map((u) => description(fetcher, u)));
    expect(connections).toHaveLength(3);
    expect(outcomes.filter((o) => o.reason === "metadata_document_busy")).toHaveLength(3);
    // The refused ones did not wait for a slot, and are not remembered as failures of their documents: asked
    // again once the slots are free, the document is fetched.
    expect(Date.now() - started).toBeLessThan(2_000);
    const refused = urls[outcomes.findIndex((o) => o.reason === "metadata_document_busy")];
    expect((await description(fetcher, refused)).reason).toBe("metadata_document_invalid");
    expect(connections).toHaveLength(4);
  });
});

