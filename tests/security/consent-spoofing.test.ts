/**
 * What the consent page shows must be what happens (RFC 9700 §4.16 and OAuth 2.1 §7.4.1 on consent screens; Unicode
 * TR #36 §3 on visual spoofing): a self-chosen client name cannot carry bidirectional overrides, invisible or
 * line-breaking characters, and a redirect URI is shown by the host the browser will actually go to (IDNs in
 * punycode, dot segments and obfuscated loopback forms resolved).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { validateClientMetadata } from "../../server/oauth/client-metadata.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { authorizeUrl, browse, pkce, signIn, type CookieJar } from "../integration/oauth-support.ts";

let server: TestServer;
let jar: CookieJar;

beforeAll(async () => {
  server = await startTestServer({ RATE_LIMIT_ENABLED: "false" });
  jar = await signIn(server.url, "looker@example.com");
});

async function registration(body: Record<string, unknown>) {
  const res = await fetch(`${server.url}/api/oauth/register`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe("Client names cannot be made to read as something else (Unicode TR #36 §3)", () => {
  it.each([
    ["a right-to-left override", "Trusted \u202Eppa.live"],
    ["a left-to-right isolate", "Claude\u2066 Desktop\u2069"],
    ["a zero-width space", "Git\u200BHub"],
    ["a zero-width joiner", "Cur\u200Dsor"],
    ["a zero-width no-break space (BOM)", "VS\uFEFFCode"],
    ["a line separator", "Safe app\u2028Allow this to delete everything"],
    ["a private-use character", "App \uE000"],
    ["a C1 control", "App\u0085"],
  ])("refuses a client_name with %s (invalid_client_metadata)", async (_name, clientName) => {
    const res = await registration({ client_name: clientName, redirect_uris: ["https://app.example/cb"], token_endpoint_auth_method: "none" });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe("invalid_client_metadata");
  });

  it.each(["Zed (编辑器)", "Café Client", "Ünïcödé Agent", "클로드"])("accepts an ordinary international name: %s", async (clientName) => {
    const res = await registration({ client_name: clientName, redirect_uris: ["https://app.example/cb"], token_endpoint_auth_method: "none" });
    expect(res.status).toBe(201);
    expect(res.body.client_name).toBe(clientName);
  });

  it("the same rule applies to Client ID Metadata Documents and the original's { name } body", () => {
    expect(() => validateClientMetadata({ client_id: "https://x.example/c.json", client_name: "A\u202EB", redirect_uris: ["https://x.example/cb"] })).toThrow(
      /client_name/,
    );
    expect(() => validateClientMetadata({ name: "A\u200BB", redirectUris: ["https://x.example/cb"] })).toThrow(/client_name/);
  });
});

describe("The consent page shows where the browser will really go", () => {
  it.each([
    ["an IDN (Cyrillic а) in punycode", "https://аpple.example/cb", "xn--pple-43d.example"],
    ["dot segments resolved to the host they stay on", "https://good.example/cb/../../evil", "good.example"],
    ["an obfuscated loopback address as the address it is", "http://2130706433/cb", "127.0.0.1"],
    ["a native app by its scheme", "com.example.app:/oauth2redirect", "com.example.app:"],
  ])("%s", async (_name, redirectUri, shown) => {
    const { body } = await registration({ client_name: "Display", redirect_uris: [redirectUri], token_endpoint_auth_method: "none" });
    const { challenge } = pkce();
    const res = await browse(
      jar,
      authorizeUrl(server.url, { response_type: "code", client_id: body.client_id as string, redirect_uri: redirectUri, code_challenge: challenge, code_challenge_method: "S256" }),
    );
    const html = await res.text();
    expect(res.status, html.slice(0, 200)).toBe(200);
    expect(/data-testid="redirect-host">([^<]*)</.exec(html)?.[1]).toBe(shown);
  });

  it("the redirect after Allow goes to the host the page showed", async () => {
    const redirectUri = "https://good.example/cb/../other";
    const { body } = await registration({ client_name: "Display", redirect_uris: [redirectUri], token_endpoint_auth_method: "none" });
    const { challenge } = pkce();
    const url = authorizeUrl(server.url, { response_type: "code", client_id: body.client_id as string, redirect_uri: redirectUri, code_challenge: challenge, code_challenge_method: "S256" });
    const html = await (await browse(jar, url)).text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1];
    const res = await browse(jar, url, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ csrf, decision: "allow" }) });
    expect(new URL(res.headers.get("location")!).host).toBe("good.example");
  });
});

describe("Presented redirect URIs that only look registered, OAuth 2.1 §4.1.1 / RFC 8252 §7.3 (local error page)", () => {
  it.each([
    ["loopback any-port with userinfo", "http://127.0.0.1:5000@evil.example/callback"],
    ["loopback any-port with dot segments", "http://127.0.0.1:5000/callback/../evil"],
    ["loopback any-port with an encoded slash", "http://127.0.0.1:5000/callback%2F..%2Fevil"],
    ["another loopback spelling", "http://2130706433:5000/callback"],
    ["IPv4-mapped loopback", "http://[::ffff:127.0.0.1]:5000/callback"],
    ["a trailing-dot host", "http://localhost.:5000/callback"],
    ["localhost as a subdomain", "http://localhost.evil.example:5000/callback"],
  ])("%s: %s", async (_name, presented) => {
    const { body } = await registration({ client_name: "Native", redirect_uris: ["http://127.0.0.1/callback", "http://localhost/callback"], token_endpoint_auth_method: "none" });
    const { challenge } = pkce();
    const res = await browse(
      jar,
      authorizeUrl(server.url, { response_type: "code", client_id: body.client_id as string, redirect_uri: presented, code_challenge: challenge, code_challenge_method: "S256" }),
    );
    expect(res.status).toBe(400);
    expect(res.headers.get("location")).toBeNull();
    expect(await res.text()).toContain("redirect_uri is not registered");
  });
});

