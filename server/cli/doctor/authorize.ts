/**
 * Getting a token the way clients do, with oauth4webapi as the strict client:
 * - `--interactive`: the authorization code flow with PKCE (S256), `state`, `resource` (RFC 8707) and RFC 9207
 *   `iss` checked, answered on a loopback redirect URI (RFC 8252 §7.3) in the person's browser. Without `--client-id`
 *   the doctor registers itself dynamically (RFC 7591) as a native public client.
 * - `--client-credentials`: a machine client's token (OAuth 2.1 §4.2, the MCP client-credentials extension) with
 *   `client_secret_basic`.
 * Before the browser opens, the authorization request is tried once without a session: a server that stops at its
 * own error page (an unregistered redirect URI, RFC 6749 §4.1.2.1) is diagnosed without anyone signing in.
 */
import { spawn } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import * as oauth from "oauth4webapi";
import { call } from "./http.ts";
import type { AuthorizationServer } from "./discovery.ts";
import type { Report } from "./report.ts";

export interface AuthorizeOptions {
  as: AuthorizationServer;
  resource: string;
  scopes?: string[];
  clientId?: string;
  clientSecret?: string;
  /** Loopback port for the redirect URI; 0 picks a free one. */
  port: number;
  timeoutMs: number;
  report: Report;
  /** Where the authorization URL is shown (stderr), so a person can open it by hand. */
  say(line: string): void;
}

const tokenResponseChecks = (report: Report, id: string) => (url: string, init?: RequestInit) =>
  fetch(url, init).then((response) => {
    // RFC 6749 §5.1: token responses are never cached.
    if (!/no-store/i.test(response.headers.get("cache-control") ?? "")) {
      report.warn(`${id}-no-store`, "Token response says Cache-Control: no-store (RFC 6749 §5.1)", "token_cacheable", response.headers.get("cache-control") ?? "no Cache-Control");
    }
    return response;
  });

function insecureWhereLocal(url: string): Record<symbol, boolean> {
  return new URL(url).protocol === "http:" ? { [oauth.allowInsecureRequests]: true } : {};
}

export async function interactiveToken(options: AuthorizeOptions): Promise<string | undefined> {
  const { as, report } = options;
  if (!as.authorization_endpoint || !as.token_endpoint) {
    report.fail("authorize", "Authorization code flow", "metadata_unreachable", "the metadata lacks authorization_endpoint or token_endpoint");
    return undefined;
  }
  const insecure = insecureWhereLocal(as.issuer);
  const callback = await listenForCallback(options.port, options.timeoutMs);
  try {
    const redirectUri = callback.redirectUri;
    let clientId = options.clientId;
    if (!clientId) {
      if (!as.registration_endpoint) {
        report.fail("register", "Dynamic client registration (RFC 7591)", "no_registration", "no registration_endpoint: pass --client-id of a pre-registered client");
        return undefined;
      }
      try {
        const registered = await oauth.processDynamicClientRegistrationResponse(
          await oauth.dynamicClientRegistrationRequest(
            as as oauth.AuthorizationServer,
            {
              client_name: "mcp-oauth-server doctor",
              redirect_uris: [redirectUri],
              grant_types: ["authorization_code", "refresh_token"],
              response_types: ["code"],
              token_endpoint_auth_method: "none",
              application_type: "native",
            },
            insecure,
          ),
        );
        clientId = registered.client_id;
        report.pass("register", "Dynamic client registration (RFC 7591)", `client_id ${clientId}`);
      } catch (error) {
        report.fail("register", "Dynamic client registration (RFC 7591)", "token_request_failed", oauthErrorText(error));
        return undefined;
      }
    }
    const client: oauth.Client = { client_id: clientId, token_endpoint_auth_method: options.clientSecret ? "client_secret_basic" : "none" };
    const clientAuth = options.clientSecret ? oauth.ClientSecretBasic(options.clientSecret) : oauth.None();
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const url = new URL(as.authorization_endpoint);
    url.search = new URLSearchParams({
      response_type: "code",
      client_id: clientId,
      redirect_uri: redirectUri,
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
      state,
      resource: options.resource,
      ...(options.scopes?.length ? { scope: options.scopes.join(" ") } : {}),
    }).toString();

    // Before anyone signs in: does the server accept this request at all?
    const first = await call(url);
    const location = first.headers.get("location");
    if (first.status >= 400) {
      const text = first.text.replace(/<[^>]+>/g, " ").replace(/\s+/g, " ");
      report.fail("authorize", "Authorization request accepted", /redirect[_ ]?uri|redirect address/i.test(text) ? "redirect_uri_unregistered" : "authorization_error", `${first.status} from the authorization endpoint`);
      return undefined;
    }
    if (location?.startsWith(redirectUri) && new URL(location).searchParams.has("error")) {
      const params = new URL(location).searchParams;
      report.fail("authorize", "Authorization request accepted", "authorization_error", `${params.get("error")}: ${params.get("error_description") ?? ""}`);
      return undefined;
    }
    report.pass("authorize", "Authorization request accepted", "opening the browser for sign-in and consent");
    options.say(`Open this URL to sign in and consent (waiting ${Math.round(options.timeoutMs / 1000)} s):\n  ${url.href}`);
    openBrowser(url.href);

    const params = await callback.result;
    if (!params) {
      report.fail("callback", "The browser came back to the client", "authorization_error", "no answer before the timeout");
      return undefined;
    }
    let validated: URLSearchParams;
    try {
      validated = oauth.validateAuthResponse(as as oauth.AuthorizationServer, client, params, state);
    } catch (error) {
      const iss = error instanceof oauth.OperationProcessingError && /iss/i.test(error.message);
      report.fail("callback", "Authorization response (state, iss per RFC 9207, code)", iss ? "iss_mismatch" : "authorization_error", oauthErrorText(error));
      return undefined;
    }
    report.pass("callback", "Authorization response (state, iss per RFC 9207, code)");
    try {
      const response = await oauth.authorizationCodeGrantRequest(as as oauth.AuthorizationServer, client, clientAuth, validated, redirectUri, verifier, {
        additionalParameters: { resource: options.resource },
        [oauth.customFetch]: tokenResponseChecks(report, "token"),
        ...insecure,
      });
      const tokens = await oauth.processAuthorizationCodeResponse(as as oauth.AuthorizationServer, client, response);
      report.pass("token", "Code exchanged for tokens", `${tokens.token_type}${tokens.scope ? `, scope "${tokens.scope}"` : ""}${tokens.refresh_token ? ", with a refresh token" : ""}`);
      return tokens.access_token;
    } catch (error) {
      report.fail("token", "Code exchanged for tokens", "token_request_failed", oauthErrorText(error));
      return undefined;
    }
  } finally {
    callback.close();
  }
}

export async function clientCredentialsToken(options: Omit<AuthorizeOptions, "port" | "timeoutMs" | "say">): Promise<string | undefined> {
  const { as, report } = options;
  if (!options.clientId || !options.clientSecret) {
    report.fail("token", "client_credentials token (OAuth 2.1 §4.2)", "token_request_failed", "--client-credentials needs --client-id and --client-secret");
    return undefined;
  }
  if (!as.grant_types_supported?.includes("client_credentials")) {
    report.warn("as-client-credentials", "The authorization server offers client_credentials", undefined, "not in grant_types_supported");
  }
  const client: oauth.Client = { client_id: options.clientId, token_endpoint_auth_method: "client_secret_basic" };
  try {
    const response = await oauth.clientCredentialsGrantRequest(
      as as oauth.AuthorizationServer,
      client,
      oauth.ClientSecretBasic(options.clientSecret),
      new URLSearchParams({ resource: options.resource, ...(options.scopes?.length ? { scope: options.scopes.join(" ") } : {}) }),
      { [oauth.customFetch]: tokenResponseChecks(report, "token"), ...insecureWhereLocal(as.issuer) },
    );
    const tokens = await oauth.processClientCredentialsResponse(as as oauth.AuthorizationServer, client, response);
    report.pass("token", "client_credentials token (OAuth 2.1 §4.2)", `${tokens.token_type}${tokens.scope ? `, scope "${tokens.scope}"` : ""}`);
    return tokens.access_token;
  } catch (error) {
    report.fail("token", "client_credentials token (OAuth 2.1 §4.2)", "token_request_failed", oauthErrorText(error));
    return undefined;
  }
}

/** An OAuth error as `error: description` (never the request's secrets). */
function oauthErrorText(error: unknown): string {
  if (error instanceof oauth.ResponseBodyError) return `${error.error}${error.error_description ? `: ${error.error_description}` : ""}`;
  if (error instanceof oauth.AuthorizationResponseError) return `${error.error}${error.error_description ? `: ${error.error_description}` : ""}`;
  return (error as Error).message;
}

interface Callback {
  redirectUri: string;
  result: Promise<URLSearchParams | undefined>;
  close(): void;
}

/** A one-shot loopback HTTP server for the redirect (RFC 8252 §7.3), answering the person's browser kindly. */
async function listenForCallback(port: number, timeoutMs: number): Promise<Callback> {
  let settle: (value: URLSearchParams | undefined) => void = () => {};
  const result = new Promise<URLSearchParams | undefined>((resolve) => (settle = resolve));
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (url.pathname !== "/callback") {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "Content-Type": "text/plain; charset=utf-8" }).end("mcp-oauth-server doctor: done, you can close this window.");
    settle(url.searchParams);
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const timer = setTimeout(() => settle(undefined), timeoutMs);
  return {
    redirectUri: `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`,
    result,
    close() {
      clearTimeout(timer);
      server.closeAllConnections();
      server.close();
    },
  };
}

/** `$BROWSER <url>` when set (as xdg-open does), else the desktop's opener; failures are fine: the URL was printed. */
function openBrowser(url: string): void {
  const [command, ...args] = process.env.BROWSER
    ? [process.env.BROWSER, url]
    : process.platform === "darwin"
      ? ["open", url]
      : process.platform === "win32"
        ? ["cmd", "/c", "start", "", url]
        : ["xdg-open", url];
  try {
    const child = spawn(command!, args, { stdio: "ignore", detached: true });
    child.on("error", () => {});
    child.unref();
  } catch {
    // printed above
  }
}
