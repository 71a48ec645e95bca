/**
 * Client mix-up and client authentication, attacked (RFC 6749 §2.3, §4.1.3, §5.2, §6; RFC 7235 §2.1; RFC 7617):
 * a code or refresh token of one client presented by another (public or confidential, correctly authenticated),
 * a confidential client that leaves its secret out, odd spellings of HTTP Basic, and other Authorization schemes.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import {
  basic,
  issueTokens,
  obtainCode,
  publicClient,
  register,
  REDIRECT,
  signIn,
  tokenRequest,
  type CookieJar,
  type RegisteredClient,
} from "../integration/oauth-support.ts";

let server: TestServer;
let alice: RegisteredClient;
let bob: RegisteredClient;
let carol: RegisteredClient;
let jar: CookieJar;

beforeAll(async () => {
  server = await startTestServer({ RATE_LIMIT_ENABLED: "false" });
  alice = await register(server.url, publicClient({ client_name: "Alice (public)" }));
  bob = await register(server.url, publicClient({ client_name: "Bob (public)" }));
  carol = await register(server.url, publicClient({ client_name: "Carol (confidential)", token_endpoint_auth_method: "client_secret_basic" }));
  jar = await signIn(server.url, "mix-up@example.com");
});

const code = (c: string, v: string) => ({ grant_type: "authorization_code", code: c, code_verifier: v, redirect_uri: REDIRECT });

describe("Codes and refresh tokens are bound to their client, RFC 6749 §4.1.3 / §6", () => {
  it("a public client's code redeemed by a correctly authenticated confidential client: invalid_grant, and the code still works for its owner", async () => {
    const { code: c, verifier } = await obtainCode(server.url, jar, alice.client_id);
    const stolen = await tokenRequest(server.url, code(c, verifier), { headers: { authorization: basic(carol.client_id, carol.client_secret!) } });
    expect(stolen.status).toBe(400);
    expect(stolen.body.error).toBe("invalid_grant");
    const owner = await tokenRequest(server.url, { ...code(c, verifier), client_id: alice.client_id });
    expect(owner.status).toBe(200);
  });

  it("a confidential client's code redeemed with only its client_id (no secret): invalid_client, nothing issued", async () => {
    const { code: c, verifier } = await obtainCode(server.url, jar, carol.client_id);
    const res = await tokenRequest(server.url, { ...code(c, verifier), client_id: carol.client_id });
    expect(res.status).toBe(401);
    expect(res.body.error).toBe("invalid_client");
    expect(res.body.access_token).toBeUndefined();
  });

  it("a public client's refresh token used by another public client, and by a confidential one: invalid_grant; the family stays usable by its owner", async () => {
    const tokens = await issueTokens(server.url, jar, alice);
    const refresh = tokens.refresh_token as string;
    const byBob = await tokenRequest(server.url, { grant_type: "refresh_token", refresh_token: refresh, client_id: bob.client_id });
    expect(byBob.body.error).toBe("invalid_grant");
    const byCarol = await tokenRequest(server.url, { grant_type: "refresh_token", refresh_token: refresh }, { headers: { authorization: basic(carol.client_id, carol.client_secret!) } });
    expect(byCarol.body.error).toBe("invalid_grant");
    const owner = await tokenRequest(server.url, { grant_type: "refresh_token", refresh_token: refresh, client_id: alice.client_id });
    expect(owner.status).toBe(200);
  });

  it("a confidential client's refresh token presented by its public client_id without the secret: invalid_client", async () => {
    const { code: c, verifier } = await obtainCode(server.url, jar, carol.client_id);
    const tokens = await tokenRequest(server.url, code(c, verifier), { headers: { authorization: basic(carol.client_id, carol.client_secret!) } });
    expect(tokens.status).toBe(200);
    const res = await tokenRequest(server.url, { grant_type: "refresh_token", refresh_token: tokens.body.refresh_token as string, client_id: carol.client_id });
    expect(res.status).toBe(401);
    expect(res.body.error).toBe("invalid_client");
  });
});

describe("HTTP Basic as RFC 7235 §2.1 / RFC 7617 write it, and other schemes (RFC 6749 §5.2)", () => {
  const credentials = () => Buffer.from(`${encodeURIComponent(carol.client_id)}:${encodeURIComponent(carol.client_secret!)}`).toString("base64");

  it.each([
    ["lower-case scheme", () => `basic ${credentials()}`],
    ["several spaces after the scheme", () => `Basic   ${credentials()}`],
  ])("accepts %s", async (_name, header) => {
    const { code: c, verifier } = await obtainCode(server.url, jar, carol.client_id);
    const res = await tokenRequest(server.url, code(c, verifier), { headers: { authorization: header() } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  });

  it.each([
    ["Bearer", "Bearer mcpat_abc"],
    ["Digest", 'Digest username="x"'],
    ["Basic without credentials", "Basic"],
    ["Basic with characters outside base64", "Basic !!!"],
    ["Basic without a colon", `Basic ${Buffer.from("no-colon").toString("base64")}`],
    ["Basic with bad percent-encoding", `Basic ${Buffer.from("%zz:%zz").toString("base64")}`],
    ["two Basic credentials", `Basic ${Buffer.from("a:b").toString("base64")}, Basic ${Buffer.from("c:d").toString("base64")}`],
  ])("%s: 401 invalid_client with WWW-Authenticate (RFC 6749 §5.2: the client tried the header)", async (_name, header) => {
    const res = await tokenRequest(server.url, { grant_type: "refresh_token", refresh_token: "mcprt_x" }, { headers: { authorization: header } });
    expect(res.status).toBe(401);
    expect(res.body.error).toBe("invalid_client");
    expect(res.headers.get("www-authenticate")).toMatch(/^Basic realm="/);
  });
});
