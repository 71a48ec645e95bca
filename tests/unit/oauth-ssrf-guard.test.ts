/**
 * The SSRF guard of Client ID Metadata Document fetching (draft-ietf-oauth-client-id-metadata-document §6, MCP
 * Security Best Practices "Server-Side Request Forgery"). Real DNS and the real https transport are used for every
 * refusal (they must refuse before connecting); only the positive cases put a fake internet behind the guard.
 */
import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  GuardedFetchError,
  guardedFetch,
  isPublicAddress,
  type Resolver,
  type Transport,
} from "../../server/oauth/ssrf-guard.ts";
import { MetadataDocumentFetcher, checkClientIdUrl } from "../../server/oauth/metadata-documents.ts";
import { OAuthError } from "../../server/oauth/errors.ts";

async function failure(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(GuardedFetchError);
    return (error as GuardedFetchError).failure;
  }
  throw new Error("expected the guard to refuse");
}

/** A fake internet: one public address, answering from a function. */
function fakeInternet(answer: (url: URL) => { status: number; headers?: Record<string, string>; body: string | Uint8Array[] }) {
  const seen: Array<{ url: string; address: string }> = [];
  const resolver: Resolver = async () => [{ address: "93.184.215.14", family: 4 }];
  const transport: Transport = async ({ url, address }) => {
    seen.push({ url: url.href, address: address.address });
    const { status, headers = {}, body } = answer(url);
    const chunks = typeof body === "string" ? [new TextEncoder().encode(body)] : body;
    return {
      status,
      headers,
      body: (async function* () {
        for (const chunk of chunks) yield chunk;
      })(),
      close() {},
    };
  };
  return { resolver, transport, seen };
}

describe("SSRF guard: address classification (ipaddr.js unicast only)", () => {
  it.each(["93.184.215.14", "8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "2a00:1450:4001:80b::200e"])("public: %s", (ip) => {
    expect(isPublicAddress(ip)).toBe(true);
  });

  it.each([
    "127.0.0.1",
    "127.255.255.254",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "255.255.255.255",
    "224.0.0.1",
    "192.0.2.1",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "fd12:3456::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "64:ff9b::a00:1",
    "2002:a00:1::",
    "2001::1",
    "2001:db8::1",
    "ff02::1",
    "not-an-ip",
  ])("not public: %s", (ip) => {
    expect(isPublicAddress(ip)).toBe(false);
  });
});

describe("SSRF guard: refusals before any connection (real DNS, real transport)", () => {
  let hits = 0;
  let server: http.Server;
  let port: number;

  beforeAll(async () => {
    server = http.createServer((_req, res) => {
      hits++;
      res.end("{}");
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    port = (server.address() as AddressInfo).port;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("refuses http: (https only)", async () => {
    expect(await failure(guardedFetch(`http://127.0.0.1:${port}/client.json`))).toBe("url");
    expect(await failure(guardedFetch("ftp://example.com/client.json"))).toBe("url");
    expect(await failure(guardedFetch("not a url"))).toBe("url");
  });

  it("refuses user information in the URL", async () => {
    expect(await failure(guardedFetch("https://user:pw@example.com/client.json"))).toBe("url");
  });

  it.each([
    "https://127.0.0.1/client.json",
    "https://[::1]/client.json",
    "https://10.1.2.3/client.json",
    "https://169.254.169.254/latest/meta-data",
    "https://[fd00::1]/client.json",
    "https://[::ffff:127.0.0.1]/client.json",
    "https://0.0.0.0/client.json",
  ])("refuses the private/loopback/link-local literal %s", async (url) => {
    expect(await failure(guardedFetch(url))).toBe("address");
  });

  it("refuses a host name that resolves to loopback (localhost, real DNS)", async () => {
    expect(await failure(guardedFetch(`https://localhost:${port}/client.json`))).toBe("address");
    expect(hits).toBe(0);
  });

  it("refuses when ANY resolved address is private (rebinding with mixed answers)", async () => {
    const resolver: Resolver = async () => [
      { address: "93.184.215.14", family: 4 },
      { address: "10.0.0.7", family: 4 },
    ];
    expect(await failure(guardedFetch("https://mixed.example/client.json", { resolver }))).toBe("address");
  });

  it("refuses a name that does not resolve", async () => {
    expect(await failure(guardedFetch("https://does-not-exist.invalid/client.json"))).toBe("resolution");
  });

  it("never connected to the local server", () => {
    expect(hits).toBe(0);
  });
});

describe("SSRF guard: answers (fake internet behind the real guard)", () => {
  it("returns a small 200 body, connecting to the address it checked", async () => {
    const net = fakeInternet(() => ({ status: 200, headers: { "content-type": "application/json" }, body: '{"ok":true}' }));
    const result = await guardedFetch("https://client.example/meta.json", net);
    expect(result.text).toBe('{"ok":true}');
    expect(net.seen).toEqual([{ url: "https://client.example/meta.json", address: "93.184.215.14" }]);
  });

  it.each([301, 302, 303, 307, 308])("does not follow a %i redirect", async (status) => {
    const net = fakeInternet(() => ({ status, headers: { location: "https://169.254.169.254/" }, body: "" }));
    expect(await failure(guardedFetch("https://client.example/meta.json", net))).toBe("redirect");
    expect(net.seen).toHaveLength(1);
  });

  it("refuses a non-200 answer", async () => {
    expect(await failure(guardedFetch("https://client.example/meta.json", fakeInternet(() => ({ status: 404, body: "no" }))))).toBe("status");
  });

  it("cuts a body over 5 KB off, declared or streamed", async () => {
    const declared = fakeInternet(() => ({ status: 200, headers: { "content-length": "6000" }, body: "{}" }));
    expect(await failure(guardedFetch("https://client.example/meta.json", declared))).toBe("too_large");
    const chunk = new Uint8Array(1024).fill(32);
    const streamed = fakeInternet(() => ({ status: 200, body: [chunk, chunk, chunk, chunk, chunk, chunk] }));
    expect(await failure(guardedFetch("https://client.example/meta.json", streamed))).toBe("too_large");
    const exactly = fakeInternet(() => ({ status: 200, body: [new Uint8Array(5 * 1024).fill(32)] }));
    await expect(guardedFetch("https://client.example/meta.json", exactly)).resolves.toMatchObject({ status: 200 });
  });

  it("gives up after the deadline (slow server)", async () => {
    const resolver: Resolver = async () => [{ address: "93.184.215.14", family: 4 }];
    const transport: Transport = ({ signal }) =>
      new Promise((_, reject) => signal.addEventListener("abort", () => reject(new Error("aborted"))));
    const started = Date.now();
    expect(await failure(guardedFetch("https://slow.example/meta.json", { resolver, transport, timeoutMs: 200 }))).toBe("timeout");
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("gives up after the deadline while the body trickles in", async () => {
    const resolver: Resolver = async () => [{ address: "93.184.215.14", family: 4 }];
    const transport: Transport = async () => ({
      status: 200,
      headers: {},
      body: (async function* () {
        for (;;) {
          await new Promise((r) => setTimeout(r, 50));
          yield new Uint8Array([32]);
        }
      })(),
      close() {},
    });
    expect(await failure(guardedFetch("https://slow.example/meta.json", { resolver, transport, timeoutMs: 200 }))).toBe("timeout");
  });
});

describe("Client ID Metadata Documents, draft-ietf-oauth-client-id-metadata-document §3-§4", () => {
  const url = "https://client.example/oauth/client.json";
  const document = {
    client_id: url,
    client_name: "Example MCP Client",
    redirect_uris: ["http://127.0.0.1/callback"],
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    token_endpoint_auth_method: "none",
  };

  it.each([
    ["https://client.example/client.json", null],
    ["https://client.example/", "must contain a path"],
    ["https://client.example", "must contain a path"],
    ["http://client.example/client.json", "must be an https URL"],
    ["https://client.example/client.json#x", "fragment"],
    ["https://u:p@client.example/client.json", "user information"],
    ["https://client.example/a/../client.json", "dot segments"],
    ["https://CLIENT.example/client.json", "normalised"],
  ])("client_id URL %s: %s", (clientId, problem) => {
    const result = checkClientIdUrl(clientId);
    if (problem === null) expect(result).toBeNull();
    else expect(result).toContain(problem);
  });

  it("loads a valid document as a public client", async () => {
    const fetcher = new MetadataDocumentFetcher(fakeInternet(() => ({ status: 200, body: JSON.stringify(document) })));
    const metadata = await fetcher.load(url);
    expect(metadata).toMatchObject({ name: "Example MCP Client", tokenEndpointAuthMethod: "none", redirectUris: ["http://127.0.0.1/callback"] });
  });

  async function refusal(body: unknown): Promise<string> {
    const fetcher = new MetadataDocumentFetcher(fakeInternet(() => ({ status: 200, body: typeof body === "string" ? body : JSON.stringify(body) })));
    try {
      await fetcher.load(url);
    } catch (error) {
      expect(error).toBeInstanceOf(OAuthError);
      expect((error as OAuthError).error).toBe("invalid_client");
      return (error as OAuthError).description;
    }
    throw new Error("expected a refusal");
  }

  it("refuses a document whose client_id is not its URL", async () => {
    expect(await refusal({ ...document, client_id: "https://other.example/client.json" })).toMatch(/client_id does not equal its URL/);
    expect(await refusal({ ...document, client_id: undefined })).toMatch(/client_id does not equal its URL/);
  });

  it("refuses a document with a secret or a confidential auth method", async () => {
    expect(await refusal({ ...document, client_secret: "s" })).toMatch(/secret/);
    expect(await refusal({ ...document, token_endpoint_auth_method: "client_secret_basic" })).toMatch(/must be none/);
  });

  it("refuses documents that are not JSON objects or have bad metadata", async () => {
    expect(await refusal("<html>")).toMatch(/not JSON/);
    expect(await refusal([document])).toMatch(/not a JSON object/);
    expect(await refusal({ ...document, redirect_uris: ["javascript:alert(1)"] })).toMatch(/redirect_uri/);
  });

  it("caches successes and failures, bounded in size", async () => {
    let fetches = 0;
    const net = fakeInternet((u) => {
      fetches++;
      return { status: 200, body: JSON.stringify({ ...document, client_id: u.href }) };
    });
    const fetcher = new MetadataDocumentFetcher({ ...net, maxEntries: 3 });
    await fetcher.load(url);
    await fetcher.load(url);
    expect(fetches).toBe(1);
    for (let i = 0; i < 10; i++) await fetcher.load(`https://client.example/c${i}.json`);
    expect(fetcher.size).toBe(3);
    await fetcher.load(url);
    expect(fetches).toBe(12);

    const failing = new MetadataDocumentFetcher(fakeInternet(() => {
      fetches++;
      return { status: 500, body: "" };
    }));
    const before = fetches;
    await expect(failing.load(url)).rejects.toThrow(OAuthError);
    await expect(failing.load(url)).rejects.toThrow(OAuthError);
    expect(fetches - before).toBe(1);
  });

  it("a loopback client_id URL is refused by the guard itself (real DNS)", async () => {
    const fetcher = new MetadataDocumentFetcher();
    await expect(fetcher.load("https://localhost/client.json")).rejects.toMatchObject({ error: "invalid_client", reason: "metadata_document_address" });
  });
});
