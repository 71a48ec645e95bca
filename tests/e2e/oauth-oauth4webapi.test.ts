/**
 * End to end with a spec-strict client nobody here wrote (oauth4webapi 3): protected resource discovery (RFC 9728),
 * authorization server discovery (RFC 8414), dynamic registration (RFC 7591), authorization with PKCE through the
 * real sign-in and consent pages in Chromium (response validated with RFC 9207 `iss`), code exchange, refresh,
 * revocation (RFC 7009) and introspection (RFC 7662).
 */
import * as oauth from "oauth4webapi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, type TestBrowser } from "../helpers/browser.ts";
import { approveInChromium } from "../helpers/mcp-oauth.ts";
import { authorizeByForms, discoverFrom, insecure, registerDynamically } from "../helpers/oauth4webapi.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { mcpStatus, signIn } from "../integration/oauth-support.ts";

let server: TestServer;
let browser: TestBrowser;
const REDIRECT_URI = "http://127.0.0.1:8976/oauth4webapi/callback";

beforeAll(async () => {
  server = await startTestServer({ RATE_LIMIT_ENABLED: "false" });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
});

async function discover() {
  const resourceUrl = new URL(`${server.env.APP_URL}/mcp/mcp`);
  const { prm, as } = await discoverFrom(resourceUrl);
  expect(prm.resource).toBe(resourceUrl.href);
  return { prm, as };
}

describe("oauth4webapi: discovery → registration → authorize (Chromium) → token → refresh → revoke", () => {
  it("completes the flow for a public client", async () => {
    const { prm, as } = await discover();
    expect(as.authorization_response_iss_parameter_supported).toBe(true);

    const registration = await registerDynamically(as, {
      client_name: "oauth4webapi e2e",
      redirect_uris: [REDIRECT_URI],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    });
    const client: oauth.Client = { client_id: registration.client_id, token_endpoint_auth_method: "none" };
    const clientAuth = oauth.None();

    const verifier = oauth.generateRandomCodeVerifier();
    const challenge = await oauth.calculatePKCECodeChallenge(verifier);
    const state = oauth.generateRandomState();
    const authorizationUrl = new URL(as.authorization_endpoint!);
    authorizationUrl.search = new URLSearchParams({
      client_id: client.client_id,
      redirect_uri: REDIRECT_URI,
      response_type: "code",
      scope: prm.scopes_supported!.join(" "),
      code_challenge: challenge,
      code_challenge_method: "S256",
      state,
      resource: prm.resource,
    }).toString();

    // The person: real sign-in page, real consent page, clicks Allow. The client's callback is intercepted.
    const callback = await approveInChromium(browser, authorizationUrl.href.replace(server.env.APP_URL, server.url), {
      email: "e2e-person@example.com",
      callbackPrefix: "http://127.0.0.1:8976/",
      screenshot: "oauth-consent-oauth4webapi",
      async onConsent(page) {
        await expect(page.getByText("oauth4webapi e2e").first().isVisible()).resolves.toBe(true);
        await expect(page.getByTestId("redirect-host").textContent()).resolves.toBe("127.0.0.1:8976");
      },
    });

    // validateAuthResponse checks iss (RFC 9207) and state.
    const params = oauth.validateAuthResponse(as, client, callback, state);
    const tokenResponse = await oauth.processAuthorizationCodeResponse(
      as,
      client,
      await oauth.authorizationCodeGrantRequest(as, client, clientAuth, params, REDIRECT_URI, verifier, {
        additionalParameters: { resource: prm.resource },
        ...insecure,
      }),
    );
    expect(tokenResponse.token_type).toBe("bearer");
    expect(tokenResponse.scope).toBe("mcp:tools");
    expect(tokenResponse.access_token).toMatch(/^mcpat_/);
    expect(await mcpStatus(server.url, tokenResponse.access_token)).toBe(200);

    const refreshed = await oauth.processRefreshTokenResponse(
      as,
      client,
      await oauth.refreshTokenGrantRequest(as, client, clientAuth, tokenResponse.refresh_token!, insecure),
    );
    expect(refreshed.refresh_token).not.toBe(tokenResponse.refresh_token);
    expect(await mcpStatus(server.url, refreshed.access_token)).toBe(200);

    await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, clientAuth, refreshed.refresh_token!, insecure));
    expect(await mcpStatus(server.url, refreshed.access_token)).toBe(401);

    // A rotated refresh token is dead, and presenting it is reuse.
    await expect(
      oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, clientAuth, tokenResponse.refresh_token!, insecure)),
    ).rejects.toMatchObject({ error: "invalid_grant" });
  });

  it("completes the flow for a confidential client (client_secret_basic) and introspects", async () => {
    const { prm, as } = await discover();
    const registration = await registerDynamically(as, {
      client_name: "oauth4webapi confidential",
      redirect_uris: [REDIRECT_URI],
      grant_types: ["authorization_code", "refresh_token"],
      token_endpoint_auth_method: "client_secret_basic",
    });
    const client: oauth.Client = { client_id: registration.client_id };
    const clientAuth = oauth.ClientSecretBasic(registration.client_secret as string);
    // The HTTP forms this time (same pages, no browser).
    const { params, verifier } = await authorizeByForms(server, as, client, { redirectUri: REDIRECT_URI, resource: prm.resource, email: "e2e-confidential@example.com" });
    const tokens = await oauth.processAuthorizationCodeResponse(
      as,
      client,
      await oauth.authorizationCodeGrantRequest(as, client, clientAuth, params, REDIRECT_URI, verifier, insecure),
    );
    const introspection = await oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, clientAuth, tokens.access_token, insecure));
    expect(introspection).toMatchObject({ active: true, client_id: client.client_id, aud: prm.resource, iss: as.issuer });
    await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, clientAuth, tokens.access_token, insecure));
    const after = await oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, clientAuth, tokens.access_token, insecure));
    expect(after.active).toBe(false);
  });

  it("validateAuthResponse reads our error response (RFC 6749 §4.1.2.1 + RFC 9207 iss) as an authorization error", async () => {
    const { as } = await discover();
    const registration = await registerDynamically(as, { redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: "none" });
    const client: oauth.Client = { client_id: registration.client_id };
    const state = oauth.generateRandomState();
    const url = new URL(`${server.url}/oauth/authorize`);
    url.search = new URLSearchParams({ client_id: client.client_id, redirect_uri: REDIRECT_URI, response_type: "code", state }).toString();
    // A self-registered client the person never approved: the error is offered as a link, not redirected to
    // (RFC 9700 §4.11.2); that link is the error response the client would get.
    const jar = await signIn(server.url, "o4w-error@example.com");
    const res = await fetch(url, { redirect: "manual", headers: { cookie: jar.header() } });
    expect(res.headers.get("location")).toBeNull();
    const href = /<a href="([^"]+)"[^>]*data-testid="continue"/.exec(await res.text())?.[1];
    expect(href).toBeTruthy();
    const location = new URL(href!.replace(/&amp;/g, "&"));
    expect(() => oauth.validateAuthResponse(as, client, location, state)).toThrow(oauth.AuthorizationResponseError);
  });
});
