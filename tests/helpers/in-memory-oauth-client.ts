/**
 * The storage half of an MCP host's OAuthClientProvider, in memory: the client's registration, its tokens and PKCE
 * verifier, and the authorization URL recorded instead of opening a browser. The MCP SDK v1 provider
 * (tests/helpers/mcp-oauth.ts) and the v2 one (tests/e2e/oauth-mcp-sdk-v2.test.ts) extend it with their metadata;
 * the types are parameters because each SDK declares its own.
 */
export class InMemoryOAuthClient<Information, Tokens> {
  information: Information | undefined;
  saved: Tokens | undefined;
  verifier = "";
  authorizationUrl: URL | undefined;

  clientInformation() {
    return this.information;
  }

  saveClientInformation(information: Information) {
    this.information = information;
  }

  tokens() {
    return this.saved;
  }

  saveTokens(tokens: Tokens) {
    this.saved = tokens;
  }

  redirectToAuthorization(url: URL) {
    this.authorizationUrl = url;
  }

  saveCodeVerifier(verifier: string) {
    this.verifier = verifier;
  }

  codeVerifier() {
    return this.verifier;
  }
}
