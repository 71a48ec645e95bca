/**
 * RFC 9700 §4.11.2, "Authorization Server as Open Redirector": anyone may register a client (RFC 7591) whose
 * redirect URI is a phishing page, then hand people a link to a deliberately broken authorization request (bad
 * response_type, bad scope, a silent prompt=none request) on this server's trusted address. The server must
 * authenticate the person first and redirect automatically only to redirect URIs it trusts: an administrator's
 * client, or one the person already approved. Otherwise the error is shown here, with a link the person may follow.
 */
import { randomBytes } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import {
  authorizeThroughConsent,
  authorizeUrl,
  browse,
  CookieJar,
  pkce,
  publicClient,
  register,
  REDIRECT,
  signIn,
  type RegisteredClient,
} from "../integration/oauth-support.ts";

const PHISH = "https://phish.example/cb";

let server: TestServer;
let attacker: RegisteredClient;

beforeAll(async () => {
  server = await startTestServer({ RATE_LIMIT_ENABLED: "false" });
  attacker = await register(server.url, publicClient({ client_name: "Totally Legit", redirect_uris: [PHISH, REDIRECT] }));
});

function link(clientId: string, params: Record<string, string | undefined>, redirectUri = PHISH) {
  const { challenge } = pkce();
  return authorizeUrl(server.url, {
    response_type: "code",
    client_id: clientId,
    redirect_uri: redirectUri,
    code_challenge: challenge,
    code_challenge_method: "S256",
    state: "st",
    ...params,
  });
}

/** The page's link back to the application, if any (`data-testid="continue"`). */
function continueLink(html: string): URL | null {
  const match = /<a href="([^"]+)"[^>]*data-testid="continue"/.exec(html);
  return match ? new URL(match[1].replace(/&amp;/g, "&")) : null;
}

const brokenRequests: Array<[string, Record<string, string | undefined>, string]> = [
  ["an unsupported response_type", { response_type: "token" }, "unsupported_response_type"],
  ["a missing PKCE challenge", { code_challenge: undefined }, "invalid_request"],
  ["a malformed scope", { scope: '"' }, "invalid_scope"],
  ["an unknown resource", { resource: "https://elsewhere.example/mcp" }, "invalid_target"],
];

describe("Authorization Server as Open Redirector, RFC 9700 §4.11.2", () => {
  it.each(brokenRequests)("%s from a self-registered client sends an anonymous visitor to sign in, not to its redirect URI", async (_name, params) => {
    const res = await browse(new CookieJar(), link(attacker.client_id, params));
    expect(res.status).toBe(302);
    expect(new URL(res.headers.get("location")!, server.url).pathname).toBe("/login");
  });

  it.each(brokenRequests)("%s: a signed-in person who never approved the client stays here, with a link carrying the error, state and iss", async (_name, params, error) => {
    const person = await signIn(server.url, `victim-${randomBytes(3).toString("hex")}@example.com`);
    const res = await browse(person, link(attacker.client_id, params));
    expect(res.headers.get("location")).toBeNull();
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toContain("phish.example");
    const back = continueLink(html);
    expect(back?.origin + back!.pathname).toBe(PHISH);
    expect(back!.searchParams.get("error")).toBe(error);
    expect(back!.searchParams.get("state")).toBe("st");
    expect(back!.searchParams.get("iss")).toBe(server.env.APP_URL);
  });

  it("a silent request (prompt=none) from a self-registered client is never redirected without the person's approval", async () => {
    const anonymous = await browse(new CookieJar(), link(attacker.client_id, { prompt: "none" }));
    expect(anonymous.headers.get("location")).toBeNull();
    expect(continueLink(await anonymous.text())?.searchParams.get("error")).toBe("login_required");
    const person = await signIn(server.url, "silent@example.com");
    const signedIn = await browse(person, link(attacker.client_id, { prompt: "none" }));
    expect(signedIn.headers.get("location")).toBeNull();
    expect(continueLink(await signedIn.text())?.searchParams.get("error")).toBe("consent_required");
  });

  it("once the person approved the client, its errors are redirected as RFC 6749 §4.1.2.1 says", async () => {
    const person = await signIn(server.url, "approver@example.com");
    await authorizeThroughConsent(person, link(attacker.client_id, {}, REDIRECT));
    const res = await browse(person, link(attacker.client_id, { response_type: "token" }, REDIRECT));
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get("location")!);
    expect(location.origin + location.pathname).toBe(REDIRECT);
    expect(location.searchParams.get("error")).toBe("unsupported_response_type");
  });

  it("a client an administrator registered (MANUAL) gets its errors redirected, signed in or not", async () => {
    const manual = await server.services.prisma.client.create({
      data: { clientId: `manual-${randomBytes(4).toString("hex")}`, name: "Admin's app", kind: "MANUAL", redirectUris: [REDIRECT], scope: "mcp:tools" },
    });
    const res = await browse(new CookieJar(), link(manual.clientId, { response_type: "token" }, REDIRECT));
    expect(res.status).toBe(302);
    expect(new URL(res.headers.get("location")!).searchParams.get("error")).toBe("unsupported_response_type");
  });

  it("Deny still answers the application (the consent page named where it goes)", async () => {
    const person = await signIn(server.url, "denies@example.com");
    const { location } = await authorizeThroughConsent(person, link(attacker.client_id, {}), "deny");
    expect(location.origin + location.pathname).toBe(PHISH);
    expect(location.searchParams.get("error")).toBe("access_denied");
  });

  it("an unregistered redirect URI is never redirected to, nor linked (RFC 6749 §4.1.2.1)", async () => {
    const person = await signIn(server.url, "unregistered@example.com");
    const res = await browse(person, link(attacker.client_id, { response_type: "token" }, "https://other.example/cb"));
    expect(res.headers.get("location")).toBeNull();
    expect(continueLink(await res.text())).toBeNull();
  });
});
