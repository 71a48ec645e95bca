/**
 * Error responses, RFC 6749 §5.2 and §4.1.2.1, RFC 7591 §3.2.2: `error_description` is "human-readable ASCII text"
 * limited to %x20-21 / %x23-5B / %x5D-7E (no `"`, no `\`, nothing outside printable ASCII), and an error never
 * echoes what the caller sent (a reflected value is a phishing and injection vector for clients that display it).
 * Every endpoint is fed a marker full of forbidden characters; its answer must neither contain the marker nor break
 * the character rule.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { TestServer } from "../helpers/server.ts";
import { authorizeUrl, browse, pkce, REDIRECT, startOAuthFixture, type CookieJar, type RegisteredClient } from "../integration/oauth-support.ts";

/** RFC 6749 §5.2: error-description characters. */
const DESCRIPTION = /^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/;
const MARKER = 'zq"<b>é\\§';

let server: TestServer;
let client: RegisteredClient;
let jar: CookieJar;

beforeAll(async () => {
  ({ server, client, jar } = await startOAuthFixture({ email: "errors@example.com" }));
});

function expectWireSafe(body: Record<string, unknown>) {
  expect(body.error, JSON.stringify(body)).toEqual(expect.any(String));
  const description = String(body.error_description ?? "");
  expect(description, "error_description characters (RFC 6749 §5.2)").toMatch(DESCRIPTION);
  expect(description).not.toContain("zq");
}

async function post(path: string, body: string, contentType = "application/x-www-form-urlencoded", headers: Record<string, string> = {}) {
  const res = await fetch(server.url + path, { method: "POST", headers: { "content-type": contentType, ...headers }, body });
  return (await res.json()) as Record<string, unknown>;
}

describe("error_description is RFC 6749 §5.2 ASCII and echoes no input", () => {
  it.each([
    ["an unsupported grant_type", `grant_type=${encodeURIComponent(MARKER)}`],
    ["a repeated parameter with an odd name", `grant_type=refresh_token&${encodeURIComponent(MARKER)}=1&${encodeURIComponent(MARKER)}=2`],
    ["an overlong parameter with an odd name", `grant_type=refresh_token&${encodeURIComponent(MARKER)}=${"x".repeat(5000)}`],
    ["a repeated grant_type", "grant_type=refresh_token&grant_type=refresh_token"],
    ["a missing code_verifier", `grant_type=authorization_code&code=mcpac_x&client_id=CLIENT`],
    ["a malformed code_verifier", `grant_type=authorization_code&code=mcpac_x&code_verifier=${encodeURIComponent(MARKER)}&client_id=CLIENT`],
    ["a malformed scope", `grant_type=refresh_token&refresh_token=mcprt_x&scope=${encodeURIComponent(MARKER)}&client_id=CLIENT`],
    ["two client authentication methods", `grant_type=refresh_token&refresh_token=x&client_id=CLIENT&client_secret=s`],
  ])("token endpoint: %s", async (_name, body) => {
    const auth = body.includes("client_secret") ? { authorization: "Basic " + Buffer.from(`${client.client_id}:s`).toString("base64") } : undefined;
    expectWireSafe(await post("/api/oauth/token", body.replace("CLIENT", client.client_id), undefined, auth));
  });

  it("token endpoint: a JSON body with a non-string value under an odd name", async () => {
    expectWireSafe(await post("/api/oauth/token", JSON.stringify({ grant_type: "refresh_token", [MARKER]: { a: 1 } }), "application/json"));
  });

  it.each([
    ["a bad redirect URI", { redirect_uris: [`https://example.com/${MARKER}#x`] }],
    ["an http redirect URI off loopback", { redirect_uris: [`http://evil.example/${MARKER}`] }],
    ["an unsupported grant type", { redirect_uris: ["https://example.com/cb"], grant_types: ["authorization_code", MARKER] }],
    ["a control character in the name", { redirect_uris: ["https://example.com/cb"], client_name: `${MARKER}\u0007` }],
  ])("registration endpoint: %s", async (_name, body) => {
    expectWireSafe(await post("/api/oauth/register", JSON.stringify(body), "application/json"));
  });

  it.each(["/api/oauth/revoke", "/api/oauth/introspect"])("%s: a repeated parameter with an odd name", async (path) => {
    expectWireSafe(await post(path, `token=x&client_id=${client.client_id}&${encodeURIComponent(MARKER)}=1&${encodeURIComponent(MARKER)}=2`));
  });

  it.each([
    ["PKCE missing (redirected)", { code_challenge: undefined }],
    ["a malformed scope (redirected)", { scope: MARKER }],
    ["an unknown resource (redirected)", { resource: `https://evil.example/${MARKER}` }],
  ])("authorization endpoint: %s", async (_name, extra) => {
    const { challenge } = pkce();
    const res = await browse(
      jar,
      authorizeUrl(server.url, { response_type: "code", client_id: client.client_id, redirect_uri: REDIRECT, code_challenge: challenge, code_challenge_method: "S256", state: "s", ...extra }),
    );
    await res.text();
    const location = res.headers.get("location");
    if (location && location.startsWith(REDIRECT)) {
      const params = new URL(location).searchParams;
      expectWireSafe({ error: params.get("error"), error_description: params.get("error_description") });
    } else {
      // Shown locally instead of redirected: the page escapes it, and the answer is still not a redirect anywhere else.
      expect(location).toBeNull();
    }
  });

  it("registration endpoint answers redirect URI problems by position, not by value", async () => {
    const body = await post("/api/oauth/register", JSON.stringify({ redirect_uris: ["https://ok.example/cb", `javascript:${MARKER}`] }), "application/json");
    expect(body.error).toBe("invalid_redirect_uri");
    expect(String(body.error_description)).toMatch(/redirect_uris\[1\]/);
  });
});
