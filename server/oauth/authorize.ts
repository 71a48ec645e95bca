/**
 * GET/POST /oauth/authorize: the authorization endpoint (RFC 6749 §4.1.1-4.1.2, OAuth 2.1 §4.1, RFC 7636, RFC 8707,
 * RFC 9207), as named steps:
 *
 *   identifyClient → checkRedirectUri          errors render a LOCAL page (RFC 6749 §4.1.2.1: never redirect to an
 *                                              unvalidated URI)
 *   checkResponseType → checkPkce → checkScope → checkResource
 *                                              errors redirect to the client with `error`, `state`, `iss` when
 *                                              its redirect URI is trusted, else a local page links there
 *                                              (RFC 9700 §4.11.2, see `refuse`)
 *   signIn → consent (remembered or asked) → issueCode
 *
 * Every redirect carries `state` unchanged and `iss` (RFC 9207 §2). Codes are 256-bit random, single use, live
 * AUTHORIZATION_CODE_TTL_SECONDS (60 s), stored as digests and bound to client, redirect URI, PKCE challenge,
 * resource, scopes and user.
 */
import type { SessionUser } from "../auth/session-user.ts";
import { SecretPrefix, randomSecret, sha256Hex } from "../crypto.ts";
import type { EventOrigin } from "../events.ts";
import type { ClientRecord } from "./clients.ts";
import { consentCovers, rememberConsent, rememberedScopes } from "./consents.ts";
import type { OAuthDeps } from "./deps.ts";
import { OAuthError } from "./errors.ts";
import { checkCodeChallenge } from "./pkce.ts";
import { checkRedirectUri, findRedirectUri, redirectUriKind } from "./redirect-uris.ts";
import { queryParams, type Params } from "./request-params.ts";
import { resolveResource } from "./resources.ts";
import { newId, query } from "./sql.ts";
import { SCOPES, decideScopes, scopesCover, type Scope } from "./scopes.ts";

/** A request that passed every check that does not need the person. */
export interface ValidatedAuthorization {
  client: ClientRecord;
  redirectUri: string;
  redirectUriExplicit: boolean;
  state: string | undefined;
  requestedScope: string | undefined;
  resource: string;
  codeChallenge: string;
  prompt: Set<string>;
}

export interface ConsentView {
  clientName: string;
  clientId: string;
  /** The client's name is self-asserted (dynamic registration or metadata document). */
  nameUnverified: boolean;
  /** For metadata document clients: the host that publishes the document. */
  clientIdHost: string | null;
  redirectHost: string;
  /**
   * Every redirect URI the client registered is a loopback address: any program on the person's computer can claim
   * such a client (MCP 2026-07-28 Authorization, Security Considerations §"Localhost Redirect URI Risks": warn).
   */
  loopbackOnly: boolean;
  /** What the client asks for: each scope, whether the person allowed it before (incremental consent), its tools. */
  scopes: Array<{ name: Scope; description: string; alreadyAllowed: boolean; tools: string[] }>;
  /** Requested scopes that will not be granted. */
  ignoredScopes: string[];
  resource: string;
  userEmail: string;
}

export type AuthorizeOutcome =
  | {
      kind: "error-page";
      status: number;
      error: string;
      description: string;
      /** The error response the client is owed, offered as a link instead of an automatic redirect (RFC 9700 §4.11.2). */
      continueTo?: { href: string; host: string };
    }
  | { kind: "redirect"; location: string; error?: string }
  | { kind: "login" }
  | { kind: "consent"; view: ConsentView };

type RedirectOutcome = Extract<AuthorizeOutcome, { kind: "redirect" }>;

/** An error found before the redirect URI was validated: shown on our own page. */
class LocalError extends Error {
  constructor(
    readonly error: string,
    readonly description: string,
    readonly status = 400,
  ) {
    super(description);
  }
}

export class AuthorizationEndpoint {
  constructor(
    private readonly deps: OAuthDeps,
    /** Which tools a scope lets a client call (consent page); none known by default. */
    private readonly scopeUsage: (scope: string) => string[] = () => [],
  ) {}

  /**
   * Runs the whole endpoint for one request. `currentUser` finds the signed-in person (null: not signed in); it is
   * asked only once the request is valid. `decision` is the consent form's answer (POST), absent on GET.
   */
  async handle(
    url: URL,
    origin: EventOrigin,
    currentUser: () => Promise<SessionUser | null>,
    decision?: "allow" | "deny",
  ): Promise<AuthorizeOutcome> {
    let validated: ValidatedAuthorization;
    try {
      validated = await this.validate(url, origin);
    } catch (error) {
      if (error instanceof LocalError) {
        this.deps.emit.authorize(origin, "error", error.error);
        return { kind: "error-page", status: error.status, error: error.error, description: error.description };
      }
      if (error instanceof PendingRedirectError) return this.refuse(error.request, error.cause, origin, currentUser);
      throw error;
    }
    let user: SessionUser | null = null;
    try {
      user = await currentUser();
      if (!user) {
        if (validated.prompt.has("none")) throw new OAuthError("access_denied", "the user is not signed in", { reason: "login_required" });
        this.deps.emit.authorize(origin, "login_required");
        return { kind: "login" };
      }
      origin.userId = user.id;
      const { scopes, ignored } = decideScopes({
        requested: validated.requestedScope,
        clientScope: validated.client.scope,
        isAdmin: user.role === "ADMIN",
      });
      const key = { userId: user.id, clientDbId: validated.client.id, resource: validated.resource };
      if (decision === "deny") {
        this.deps.emit.authorize(origin, "denied");
        return this.redirect(validated, { error: "access_denied", error_description: "The user denied the request" }, "access_denied");
      }
      if (decision === "allow") {
        await rememberConsent(this.deps.prisma, key, scopes);
        this.deps.emit.authorize(origin, "approved");
        return this.issueCode(validated, user, scopes);
      }
      const remembered = await rememberedScopes(this.deps.prisma, key);
      if (!validated.prompt.has("consent") && identityAssured(validated) && consentCovers(remembered, scopes)) {
        this.deps.emit.authorize(origin, "consent_remembered");
        return this.issueCode(validated, user, scopes);
      }
      if (validated.prompt.has("none")) throw new OAuthError("access_denied", "consent is required", { reason: "consent_required" });
      await this.deps.clients.touch(validated.client.id);
      this.deps.emit.authorize(origin, "consent_shown");
      return { kind: "consent", view: this.consentView(validated, user, scopes, ignored, identityAssured(validated) ? remembered : []) };
    } catch (error) {
      const known = user;
      if (error instanceof OAuthError) return this.refuse(validated, error, origin, async () => known);
      throw error;
    }
  }

  /**
   * An error for the client (RFC 6749 §4.1.2.1), without making this server an open redirector (RFC 9700 §4.11.2):
   * anyone can register a client whose redirect URI is a phishing page, then send people a link to a broken
   * authorization request that would bounce straight there from this server's address. So the error is redirected
   * automatically only when the redirect URI is trusted: an administrator registered the client (MANUAL), or the
   * signed-in person already approved this client. Otherwise the person signs in first (RFC 9700 §4.11.2: "MUST
   * always authenticate the user first") and then sees the error here, with a link back to the application.
   */
  private async refuse(
    request: ValidatedAuthorization,
    error: OAuthError,
    origin: EventOrigin,
    currentUser: () => Promise<SessionUser | null>,
  ): Promise<AuthorizeOutcome> {
    if (request.client.kind === "MANUAL") return this.errorRedirect(request, error, origin);
    const user = await currentUser();
    if (!user && !request.prompt.has("none")) {
      this.deps.emit.authorize(origin, "login_required");
      return { kind: "login" };
    }
    if (user) {
      origin.userId = user.id;
      if (await hasApproved(this.deps.prisma, user.id, request.client.id)) return this.errorRedirect(request, error, origin);
    }
    const redirect = this.errorRedirect(request, error, origin);
    return {
      kind: "error-page",
      status: 400,
      error: redirect.error ?? error.error,
      description: `The application's request cannot be accepted: ${error.description}.`,
      continueTo: { href: redirect.location, host: displayHost(request.redirectUri) },
    };
  }

  /** identifyClient → checkRedirectUri (local errors), then the checks whose errors go to the client. */
  private async validate(url: URL, origin: EventOrigin): Promise<ValidatedAuthorization> {
    let params: Params;
    try {
      params = queryParams(url);
    } catch (error) {
      throw new LocalError("invalid_request", error instanceof OAuthError ? error.description : "malformed request");
    }
    // identifyClient
    const clientId = params.get("client_id");
    if (!clientId) throw new LocalError("invalid_request", "The request names no client (client_id is missing).");
    let client: ClientRecord | null;
    try {
      client = await this.deps.clients.find(clientId);
    } catch (error) {
      if (error instanceof OAuthError) {
        if (error.error === "invalid_client") {
          // A Client ID Metadata Document that could not be used: what was wrong with it (the wire text, no secret)
          // is what the connection doctor shows for the client_id as presented.
          origin.clientId = clientId.slice(0, 255);
          this.deps.emit.security(origin, {
            type: "INVALID_CLIENT",
            severity: "low",
            details: { reason: "metadata_document", endpoint: "authorize", description: error.description },
          });
        }
        throw new LocalError(error.error, `The client could not be loaded: ${error.description}.`, error.status >= 500 ? error.status : 400);
      }
      throw error;
    }
    if (!client) {
      // No row id to name it by: the event and the request's analytics row carry the client_id as presented
      // (public, not a secret), so the connection doctor finds them by that string.
      origin.clientId = clientId.slice(0, 255);
      this.deps.emit.security(origin, { type: "INVALID_CLIENT", severity: "low", details: { reason: "unknown_client", endpoint: "authorize" } });
      throw new LocalError("invalid_client", "This application is not registered here (or its registration expired). Ask it to register again.");
    }
    origin.clientId = client.id;

    // checkRedirectUri (OAuth 2.1 §4.1.1: exact match; loopback any port, RFC 8252 §7.3)
    const presented = params.get("redirect_uri");
    let redirectUri: string;
    if (presented !== undefined) {
      if (!findRedirectUri(client.redirectUris, presented)) {
        // The presented URI (not a secret) is what the connection doctor shows next to the registered ones.
        this.deps.emit.security(origin, {
          type: "REDIRECT_URI_MISMATCH",
          severity: "medium",
          details: { endpoint: "authorize", redirectUri: presented.slice(0, 500) },
        });
        throw new LocalError("invalid_request", "The redirect_uri is not registered for this application, so it will not be sent there.");
      }
      redirectUri = presented;
    } else if (client.redirectUris.length === 1) {
      redirectUri = client.redirectUris[0];
    } else {
      throw new LocalError("invalid_request", "The request has no redirect_uri and the application registered several.");
    }

    const pending: ValidatedAuthorization = {
      client,
      redirectUri,
      redirectUriExplicit: presented !== undefined,
      state: params.get("state"),
      requestedScope: params.get("scope"),
      resource: "",
      codeChallenge: "",
      prompt: new Set((params.get("prompt") ?? "").split(" ").filter(Boolean)),
    };
    try {
      // checkResponseType (RFC 6749 §4.1.1; OAuth 2.1: code only)
      const responseType = params.get("response_type");
      if (!responseType) throw new OAuthError("invalid_request", "response_type is required");
      if (responseType !== "code") throw new OAuthError("unsupported_response_type", "only response_type=code is supported");
      if (!client.responseTypes.includes("code") || !client.grantTypes.includes("authorization_code")) {
        throw new OAuthError("unauthorized_client", "this client may not use the authorization code flow");
      }
      const responseMode = params.get("response_mode");
      if (responseMode !== undefined && responseMode !== "query") throw new OAuthError("invalid_request", "only response_mode=query is supported");
      if (params.has("request") || params.has("request_uri")) {
        throw new OAuthError("invalid_request", "request objects are not supported (send the parameters in the query)");
      }
      // checkPkce (RFC 7636 §4.4.1, OAuth 2.1 §4.1.1)
      checkCodeChallenge(params.get("code_challenge"), params.get("code_challenge_method"));
      pending.codeChallenge = params.get("code_challenge")!;
      // checkScope: well-formed and registered; the admin rule needs the person and is applied after sign-in.
      decideScopes({ requested: pending.requestedScope, clientScope: client.scope, isAdmin: true });
      // checkResource (RFC 8707 §2)
      pending.resource = this.checkResource(params.getAll("resource"), origin);
    } catch (error) {
      if (error instanceof OAuthError) throw new PendingRedirectError(pending, error);
      throw error;
    }
    return pending;
  }

  /**
   * checkResource (RFC 8707 §2). A resource this server does not serve is usually the URL the client called when
   * APP_URL names another address: recorded (the resource asked for, never a token) for the connection doctor.
   */
  private checkResource(requested: string[], origin: EventOrigin): string {
    try {
      return resolveResource(requested, this.deps.env.APP_URL);
    } catch (error) {
      if (error instanceof OAuthError && error.error === "invalid_target") {
        this.deps.emit.security(origin, {
          type: "RESOURCE_MISMATCH",
          severity: "low",
          details: { endpoint: "authorize", resource: requested.slice(0, 3).map((r) => r.slice(0, 300)), expected: this.deps.env.APP_URL },
        });
      }
      throw error;
    }
  }

  /**
   * issueCode (RFC 6749 §4.1.2). One statement checks that the client is still registered and enabled, notes the
   * activity on its row (so the unused-registration sweep cannot take it while the code is out) and stores the
   * code's digest. A client disabled or deleted since the request was validated gets no code.
   */
  private async issueCode(request: ValidatedAuthorization, user: SessionUser, scopes: Scope[]): Promise<AuthorizeOutcome> {
    const code = randomSecret(SecretPrefix.authorizationCode);
    const now = new Date();
    const rows = await query<{ id: string }>(this.deps.pool, ISSUE_CODE, [
      newId(),
      sha256Hex(code),
      request.client.id,
      user.id,
      request.redirectUri,
      request.redirectUriExplicit,
      request.codeChallenge,
      scopes.join(" "),
      request.resource,
      new Date(now.getTime() + this.deps.env.AUTHORIZATION_CODE_TTL_SECONDS * 1000),
      now,
    ]);
    if (rows.length === 0) return clientGonePage();
    return this.redirect(request, { code });
  }

  private errorRedirect(request: ValidatedAuthorization, error: OAuthError, origin: EventOrigin): RedirectOutcome {
    // OpenID-style prompt=none answers (the codes clients expect), otherwise the RFC 6749 §4.1.2.1 code.
    const code = error.reason === "login_required" || error.reason === "consent_required" ? error.reason : error.error;
    this.deps.emit.authorize(origin, "error", code);
    return this.redirect(request, { error: code, error_description: error.description }, code);
  }

  /** The redirect to the client: parameters added to the registered URI's own query (RFC 6749 §3.1.2), plus iss. */
  private redirect(request: ValidatedAuthorization, params: Record<string, string>, error?: string): RedirectOutcome {
    const url = new URL(request.redirectUri);
    for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
    if (request.state !== undefined) url.searchParams.set("state", request.state);
    url.searchParams.set("iss", this.deps.env.APP_URL);
    return { kind: "redirect", location: url.href, ...(error ? { error } : {}) };
  }

  /**
   * Incremental consent (MCP 2026-07-28 step-up): scopes the person already allowed this client are marked so, and
   * each new one says which tools need it; remembered consent is not offered where it cannot be trusted (RFC 8252
   * §8.6, `identityAssured`).
   */
  private consentView(request: ValidatedAuthorization, user: SessionUser, scopes: Scope[], ignored: string[], remembered: readonly string[]): ConsentView {
    const { client } = request;
    const redirectHost = displayHost(request.redirectUri);
    return {
      clientName: client.name,
      clientId: client.clientId,
      nameUnverified: client.kind !== "MANUAL",
      clientIdHost: client.kind === "METADATA_DOCUMENT" ? new URL(client.clientId).host : null,
      redirectHost,
      loopbackOnly: client.redirectUris.every((uri) => redirectUriKind(uri) === "loopback"),
      scopes: scopes.map((name) => ({
        name,
        description: SCOPES[name].description,
        alreadyAllowed: scopesCover(remembered, [name]),
        tools: this.scopeUsage(name),
      })),
      ignoredScopes: ignored.slice(0, 10).map((s) => s.slice(0, 60)),
      resource: request.resource,
      userEmail: user.email,
    };
  }
}

/** $1 id, $2 digest, $3 client row id, $4 user, $5 redirect URI, $6 explicit, $7 challenge, $8 scope, $9 resource, $10 expiry, $11 now. */
const ISSUE_CODE = `
WITH c AS (
  UPDATE "Client" SET "lastUsedAt" = $11::timestamp WHERE id = $3 AND NOT disabled RETURNING id
)
INSERT INTO "AuthorizationCode" (id, "codeHash", "clientId", "userId", "redirectUri", "redirectUriExplicit", "codeChallenge",
  "codeChallengeMethod", scope, resource, "expiresAt", "createdAt")
SELECT $1, $2, c.id, $4, $5, $6, $7, 'S256', $8, $9, $10::timestamp, $11::timestamp FROM c
RETURNING id`;

/** Where a redirect URI sends the person, as shown to them: the host (IDNs in punycode), or a native app's scheme. */
function displayHost(redirectUri: string): string {
  const url = new URL(redirectUri);
  return url.protocol === "https:" || url.protocol === "http:" ? url.host : `${url.protocol}${url.host ? "//" + url.host : ""}`;
}

/** Whether the person has approved this client before (for any resource). */
async function hasApproved(prisma: OAuthDeps["prisma"], userId: string, clientDbId: string): Promise<boolean> {
  return (await prisma.consent.count({ where: { userId, clientId: clientDbId }, take: 1 })) > 0;
}

function clientGonePage(): AuthorizeOutcome {
  return {
    kind: "error-page",
    status: 400,
    error: "invalid_client",
    description: "This application is no longer registered here (or was disabled). Ask it to register again.",
  };
}

/** A check failed after the redirect URI was validated: the error goes to the client. */
class PendingRedirectError extends Error {
  constructor(
    readonly request: ValidatedAuthorization,
    override readonly cause: OAuthError,
  ) {
    super(cause.message);
  }
}

/**
 * Whether a remembered consent may stand in for the person (RFC 8252 §8.6: not unless the identity of the client
 * can be assured). A metadata-document client's `client_id` is a public URL, so any program can present it; with a
 * loopback or private-use redirect URI nothing ties the code's receiver to that document's owner, so the person is
 * asked every time. Registered clients hold an unguessable client_id of their own, and an https redirect URI
 * belongs to its host.
 */
function identityAssured(request: ValidatedAuthorization): boolean {
  if (request.client.kind !== "METADATA_DOCUMENT") return true;
  const check = checkRedirectUri(request.redirectUri);
  return check.ok && check.kind === "https";
}
