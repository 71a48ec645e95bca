/**
 * The steps every oauth4webapi test takes before its own: discovery from the MCP endpoint (RFC 9728 §3, then RFC 8414
 * §3), dynamic registration (RFC 7591 §3) and authorization with PKCE (RFC 7636 §4) through our HTTP sign-in and
 * consent forms, the response validated as oauth4webapi does it (RFC 9207 `iss`, `state`).
 */
import * as oauth from "oauth4webapi";
import { authorizeThroughConsent, signIn } from "../integration/oauth-support.ts";
import type { TestServer } from "./server.ts";

/** oauth4webapi refuses plain http unless told; the test server listens on http://127.0.0.1. */
export const insecure = { [oauth.allowInsecureRequests]: true } as const;

/** The resource's Protected Resource Metadata, then the metadata of the first authorization server it names. */
export async function discoverFrom(resource: URL): Promise<{ prm: oauth.ResourceServer; as: oauth.AuthorizationServer }> {
  const prm = await oauth.processResourceDiscoveryResponse(resource, await oauth.resourceDiscoveryRequest(resource, insecure));
  const issuer = new URL(prm.authorization_servers![0]);
  const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: "oauth2", ...insecure }));
  return { prm, as };
}

/** Registers `metadata` at the registration endpoint; resolves the registration response. */
export async function registerDynamically(as: oauth.AuthorizationServer, metadata: Partial<oauth.OmitSymbolProperties<oauth.Client>>): Promise<oauth.Client> {
  return oauth.processDynamicClientRegistrationResponse(await oauth.dynamicClientRegistrationRequest(as, metadata, insecure));
}

/**
 * `email` signs in and allows `client` on the consent page (the HTTP forms, no browser); resolves the validated
 * authorization response and the PKCE verifier for the code exchange.
 */
export async function authorizeByForms(
  server: TestServer,
  as: oauth.AuthorizationServer,
  client: oauth.Client,
  { redirectUri, resource, email }: { redirectUri: string; resource: string; email: string },
): Promise<{ params: URLSearchParams; verifier: string }> {
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const url = new URL(as.authorization_endpoint!.replace(server.env.APP_URL, server.url));
  url.search = new URLSearchParams({
    client_id: client.client_id,
    redirect_uri: redirectUri,
    response_type: "code",
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    state,
    resource,
  }).toString();
  const { location } = await authorizeThroughConsent(await signIn(server.url, email), url.href);
  return { params: oauth.validateAuthResponse(as, client, location, state), verifier };
}
