/**
 * DPoP end to end with a client nobody here wrote: oauth4webapi 3's DPoP handle (RFC 9449) signs the proofs, follows
 * `use_dpop_nonce` at the token endpoint and at the MCP endpoint (DPOP_NONCE=all), and calls an MCP tool with
 * `Authorization: DPoP` and a proof carrying `ath`. A public client (refresh token bound to the key) and a
 * confidential one (client_secret_basic; introspection shows `cnf.jkt`).
 */
import * as oauth from "oauth4webapi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authorizeByForms, discoverFrom, insecure, registerDynamically } from "../helpers/oauth4webapi.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

let server: TestServer;
const REDIRECT_URI = "http://127.0.0.1:8976/oauth4webapi/dpop-callback";

beforeAll(async () => {
  server = await startTestServer({ RATE_LIMIT_ENABLED: "false", DPOP_NONCE: "all" });
});

afterAll(async () => {
  await server?.close();
});

/** RFC 9449 §8-9: the DPoP handle remembers the nonce from the error; the request is made once more. */
async function withNonceRetry<T>(attempt: () => Promise<T>): Promise<T> {
  try {
    return await attempt();
  } catch (error) {
    if (oauth.isDPoPNonceError(error)) return attempt();
    throw error;
  }
}

async function discover() {
  const resourceUrl = new URL(`${server.env.APP_URL}/mcp/mcp`);
  const { prm, as } = await discoverFrom(resourceUrl);
  expect(as.dpop_signing_alg_values_supported).toContain("ES256");
  expect(prm.dpop_signing_alg_values_supported).toContain("ES256");
  return { prm, as };
}

/** tools/call whoami at /mcp/mcp with the DPoP scheme (oauth4webapi adds the proof with ath). */
async function whoami(accessToken: string, DPoP: oauth.DPoPHandle): Promise<Response> {
  const headers = new Headers({ "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25" });
  const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "whoami", arguments: {} } });
  return withNonceRetry(() => oauth.protectedResourceRequest(accessToken, "POST", new URL(`${server.env.APP_URL}/mcp/mcp`), headers, body, { DPoP, ...insecure }));
}

describe("oauth4webapi DPoP: registration → authorize → DPoP token → MCP tool → refresh", () => {
  it("a public client: tokens bound to its key, the tool answers, a refresh by another key is refused", async () => {
    const { prm, as } = await discover();
    const registration = await registerDynamically(as, {
      client_name: "oauth4webapi DPoP",
      redirect_uris: [REDIRECT_URI],
      grant_types: ["authorization_code", "refresh_token"],
      token_endpoint_auth_method: "none",
    });
    const client: oauth.Client = { client_id: registration.client_id, token_endpoint_auth_method: "none" };
    const DPoP = oauth.DPoP(client, await oauth.generateKeyPair("ES256"));
    const { params, verifier } = await authorizeByForms(server, as, client, { redirectUri: REDIRECT_URI, resource: prm.resource, email: "dpop-public@example.com" });
    const tokens = await withNonceRetry(async () =>
      oauth.processAuthorizationCodeResponse(
        as,
        client,
        await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, REDIRECT_URI, verifier, { DPoP, additionalParameters: { resource: prm.resource }, ...insecure }),
      ),
    );
    expect(tokens.token_type).toBe("dpop");

    const answer = await whoami(tokens.access_token, DPoP);
    expect(answer.status).toBe(200);
    expect(JSON.stringify(await answer.json())).toContain("dpop-public@example.com");

    // The same token without its key (sent as Bearer) is refused.
    const copied = await fetch(`${server.url}/mcp/mcp`, {
      method: "POST",
      headers: { authorization: `Bearer ${tokens.access_token}`, "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    });
    expect(copied.status).toBe(401);

    // Refresh by another key: refused; by the client's key: a new DPoP token.
    const thief = oauth.DPoP(client, await oauth.generateKeyPair("ES256"));
    await expect(
      withNonceRetry(async () =>
        oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, oauth.None(), tokens.refresh_token!, { DPoP: thief, ...insecure })),
      ),
    ).rejects.toMatchObject({ error: "invalid_grant" });
    const refreshed = await withNonceRetry(async () =>
      oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, oauth.None(), tokens.refresh_token!, { DPoP, ...insecure })),
    );
    expect(refreshed.token_type).toBe("dpop");
    expect((await whoami(refreshed.access_token, DPoP)).status).toBe(200);
  });

  it("a confidential client (client_secret_basic): DPoP token, the tool answers, introspection shows cnf.jkt", async () => {
    const { prm, as } = await discover();
    const registration = await registerDynamically(as, {
      client_name: "oauth4webapi DPoP confidential",
      redirect_uris: [REDIRECT_URI],
      grant_types: ["authorization_code", "refresh_token"],
      token_endpoint_auth_method: "client_secret_basic",
    });
    const client: oauth.Client = { client_id: registration.client_id };
    const clientAuth = oauth.ClientSecretBasic(registration.client_secret as string);
    const keyPair = await oauth.generateKeyPair("ES256");
    const DPoP = oauth.DPoP(client, keyPair);
    const { params, verifier } = await authorizeByForms(server, as, client, { redirectUri: REDIRECT_URI, resource: prm.resource, email: "dpop-confidential@example.com" });
    const tokens = await withNonceRetry(async () =>
      oauth.processAuthorizationCodeResponse(as, client, await oauth.authorizationCodeGrantRequest(as, client, clientAuth, params, REDIRECT_URI, verifier, { DPoP, ...insecure })),
    );
    expect(tokens.token_type).toBe("dpop");
    expect((await whoami(tokens.access_token, DPoP)).status).toBe(200);
    const introspection = await oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, clientAuth, tokens.access_token, insecure));
    const { calculateJwkThumbprint, exportJWK } = await import("jose");
    expect(introspection).toMatchObject({ active: true, token_type: "DPoP", cnf: { jkt: await calculateJwkThumbprint(await exportJWK(keyPair.publicKey)) } });
  });
});
