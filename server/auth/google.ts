/**
 * "Sign in with Google" for people using this app: remix-auth 4 with remix-auth-oauth2 (authorization code flow with
 * PKCE S256 and a `state` cookie), endpoints from OpenID Connect Discovery 1.0 at
 * `${GOOGLE_ISSUER}/.well-known/openid-configuration` (fetched on first use and cached per server; a failed fetch is
 * retried on the next sign-in), the profile from the UserInfo endpoint (OIDC Core §5.3).
 *
 * Routes stay thin: `POST /auth/google` calls `start()`, `GET /api/auth/callback/google` (the original's callback URL,
 * so existing Google console settings keep working) calls `callback()`. Every failure (consent denied, state
 * mismatch, unverified email, Google unreachable) becomes a redirect to `/login?error=google_<code>`, never a 500.
 */
import { createCookie, redirect, type Cookie } from "@remix-run/node";
import { Authenticator } from "remix-auth";
import { OAuth2RequestError, OAuth2Strategy, UnexpectedErrorResponseBodyError, UnexpectedResponseError } from "remix-auth-oauth2";
import { z } from "zod";
import type { Env } from "../env.ts";
import type { Logger } from "../logger.ts";
import type { RequestOrigin, SessionUser, SignInProfile } from "./session-user.ts";
import { safeReturnTo } from "./return-to.ts";

export const GOOGLE_START_PATH = "/auth/google";
export const GOOGLE_CALLBACK_PATH = "/api/auth/callback/google";
/** Prefix of the strategy's state cookies (one per sign-in attempt: `__google_oauth:<uuid>`). */
const STATE_COOKIE = "__google_oauth";
const FLOW_TTL_SECONDS = 10 * 60;
const DISCOVERY_TIMEOUT_MS = 5_000;
/** Upper bound for the whole callback (token + userinfo), so a hanging Google never hangs the browser. */
const CALLBACK_TIMEOUT_MS = 10_000;

/** Why a Google sign-in failed; `/login?error=google_<code>` shows a message for each. */
export type GoogleSignInErrorCode =
  | "access_denied"
  | "state"
  | "unverified_email"
  | "unavailable"
  | "provider_error"
  | "disabled"
  | "failed";

export class GoogleSignInError extends Error {
  constructor(
    readonly code: GoogleSignInErrorCode,
    /** For logs only; never shown to the person signing in. */
    readonly reason: string,
  ) {
    super(reason);
    this.name = "GoogleSignInError";
  }
}

/** OpenID Provider Metadata (OIDC Discovery 1.0 §3): the fields we use. */
const providerMetadata = z.object({
  issuer: z.string(),
  authorization_endpoint: z.url({ protocol: /^https?$/ }),
  token_endpoint: z.url({ protocol: /^https?$/ }),
  userinfo_endpoint: z.url({ protocol: /^https?$/ }),
  code_challenge_methods_supported: z.array(z.string()).optional(),
});
type ProviderMetadata = z.infer<typeof providerMetadata>;

/** Standard claims (OIDC Core §5.1) from the UserInfo response. */
const userInfo = z.object({
  sub: z.string().min(1).max(255),
  email: z.string().min(3).max(320),
  // Google sends a boolean; some providers send the string "true".
  email_verified: z.union([z.boolean(), z.enum(["true", "false"]).transform((v) => v === "true")]).optional(),
  name: z.string().max(200).optional(),
  picture: z.string().max(2048).optional(),
});

interface GoogleReturnState {
  state: string;
  returnTo: string;
}

export interface GoogleSignInDeps {
  env: Env;
  log: Logger;
  signIn(profile: SignInProfile, origin: RequestOrigin): Promise<{ user: SessionUser; setCookie: string }>;
}

export class GoogleSignIn {
  /** `returnTo` (and the state it belongs to) across the round trip to Google: signed, short-lived. */
  private readonly returnCookie: Cookie;
  private ready?: Promise<Authenticator<SignInProfile>>;

  constructor(private readonly deps: GoogleSignInDeps) {
    this.returnCookie = createCookie("__google_return", {
      secrets: [deps.env.AUTH_SECRET ?? ""],
      httpOnly: true,
      sameSite: "lax",
      secure: deps.env.secureCookies,
      path: "/",
      maxAge: FLOW_TTL_SECONDS,
    });
  }

  get enabled(): boolean {
    return this.deps.env.googleConfigured;
  }

  get redirectUri(): string {
    return `${this.deps.env.APP_URL}${GOOGLE_CALLBACK_PATH}`;
  }

  /**
   * Begins a sign-in: a redirect to Google's authorization endpoint carrying `state` and a PKCE S256 challenge
   * (RFC 7636 §4.3), with the state cookie and the signed `returnTo` cookie. The caller has checked CSRF.
   */
  async start(request: Request, returnTo: string): Promise<Response> {
    let authenticator: Authenticator<SignInProfile>;
    try {
      authenticator = await this.authenticator();
    } catch (error) {
      return this.failure(error, returnTo);
    }
    // A clean request: only the cookies matter to the strategy, and a stray `?state=` must not turn this into a callback.
    const begin = new Request(`${this.deps.env.APP_URL}${GOOGLE_START_PATH}`, {
      headers: { cookie: request.headers.get("cookie") ?? "" },
    });
    let response: Response;
    try {
      await authenticator.authenticate("google", begin);
      return this.failure(new GoogleSignInError("failed", "strategy did not redirect"), returnTo);
    } catch (thrown) {
      if (!(thrown instanceof Response)) return this.failure(thrown, returnTo);
      response = thrown;
    }
    const state = new URL(response.headers.get("location") ?? "", "http://invalid").searchParams.get("state") ?? "";
    const headers = new Headers(response.headers);
    headers.append("Set-Cookie", await this.returnCookie.serialize({ state, returnTo } satisfies GoogleReturnState));
    headers.set("Cache-Control", "no-store");
    return new Response(null, { status: 302, headers });
  }

  /**
   * Finishes a sign-in at the callback: checks `state` against the cookie (RFC 6749 §10.12), redeems the code with
   * the PKCE verifier, reads the profile, refuses unverified emails, starts our session, and returns to `returnTo`.
   */
  async callback(request: Request, origin: RequestOrigin): Promise<{ response: Response; user: SessionUser | null }> {
    const url = new URL(request.url);
    const state = url.searchParams.get("state") ?? "";
    const saved = (await this.returnCookie.parse(request.headers.get("cookie"))) as GoogleReturnState | null;
    const returnTo = saved && saved.state === state ? safeReturnTo(saved.returnTo) : "/";
    // The cookies of this attempt are spent whatever happens; another tab's attempt keeps its own.
    const spent = this.spentCookies(request, state);
    if (saved && saved.state === state) spent.push(await this.returnCookie.serialize("", { maxAge: 0 }));
    try {
      const authenticator = await this.authenticator();
      const profile = await withTimeout(authenticator.authenticate("google", request), CALLBACK_TIMEOUT_MS);
      const { user, setCookie } = await this.deps.signIn(profile, origin);
      this.deps.log.info({ userId: user.id, provider: "google" }, "signed in with Google");
      const headers = new Headers({ "Cache-Control": "no-store" });
      headers.append("Set-Cookie", setCookie);
      for (const cookie of spent) headers.append("Set-Cookie", cookie);
      return { response: redirect(returnTo, { headers }), user };
    } catch (error) {
      return { response: this.failure(error, returnTo, spent), user: null };
    }
  }

  /** The provider's metadata, fetched once per server (a failure is not cached). */
  private authenticator(): Promise<Authenticator<SignInProfile>> {
    if (!this.enabled) return Promise.reject(new GoogleSignInError("disabled", "Google sign-in is not configured"));
    this.ready ??= this.discover().catch((error: unknown) => {
      this.ready = undefined;
      throw error;
    });
    return this.ready;
  }

  private async discover(): Promise<Authenticator<SignInProfile>> {
    const { env } = this.deps;
    const issuer = env.GOOGLE_ISSUER.replace(/\/+$/, "");
    const metadata = await this.fetchJson(`${issuer}/.well-known/openid-configuration`, {}, "discovery").then((body) => {
      const parsed = providerMetadata.safeParse(body);
      if (!parsed.success) throw new GoogleSignInError("unavailable", "discovery document is malformed");
      return parsed.data;
    });
    // OIDC Discovery 1.0 §4.3: the issuer in the document must be exactly the one we asked.
    if (metadata.issuer.replace(/\/+$/, "") !== issuer) {
      throw new GoogleSignInError("unavailable", `discovery issuer mismatch: ${metadata.issuer}`);
    }
    if (metadata.code_challenge_methods_supported && !metadata.code_challenge_methods_supported.includes("S256")) {
      throw new GoogleSignInError("unavailable", "provider does not support PKCE S256");
    }
    const strategy = new OAuth2Strategy<SignInProfile>(
      {
        clientId: env.GOOGLE_CLIENT_ID!,
        clientSecret: env.GOOGLE_CLIENT_SECRET!,
        authorizationEndpoint: metadata.authorization_endpoint,
        tokenEndpoint: metadata.token_endpoint,
        redirectURI: this.redirectUri,
        scopes: ["openid", "email", "profile"],
        cookie: {
          name: STATE_COOKIE,
          httpOnly: true,
          sameSite: "Lax",
          path: "/",
          maxAge: FLOW_TTL_SECONDS,
          ...(env.secureCookies ? { secure: true as const } : {}),
        },
      },
      ({ tokens }) => this.profile(metadata, tokens.accessToken()),
    );
    this.deps.log.info({ issuer }, "Google sign-in: provider metadata loaded");
    return new Authenticator<SignInProfile>().use(strategy, "google");
  }

  /** The person's profile from the UserInfo endpoint (OIDC Core §5.3); only a verified email signs in. */
  private async profile(metadata: ProviderMetadata, accessToken: string): Promise<SignInProfile> {
    const body = await this.fetchJson(metadata.userinfo_endpoint, { authorization: `Bearer ${accessToken}` }, "userinfo");
    const parsed = userInfo.safeParse(body);
    if (!parsed.success) throw new GoogleSignInError("provider_error", "userinfo response is malformed");
    const info = parsed.data;
    if (info.email_verified !== true) {
      throw new GoogleSignInError("unverified_email", "the Google account's email address is not verified");
    }
    return {
      provider: "google",
      providerAccountId: info.sub,
      email: info.email,
      name: info.name ?? null,
      image: info.picture && /^https:\/\//.test(info.picture) ? info.picture : null,
    };
  }

  private async fetchJson(url: string, headers: Record<string, string>, what: string): Promise<unknown> {
    let response: Response;
    try {
      response = await fetch(url, {
        headers: { accept: "application/json", ...headers },
        signal: AbortSignal.timeout(DISCOVERY_TIMEOUT_MS),
        redirect: "error",
      });
    } catch (error) {
      throw new GoogleSignInError("unavailable", `${what} request failed: ${(error as Error).message}`);
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new GoogleSignInError(response.status >= 500 ? "unavailable" : "provider_error", `${what} answered ${response.status}`);
    }
    try {
      return await response.json();
    } catch {
      throw new GoogleSignInError("provider_error", `${what} answered with invalid JSON`);
    }
  }

  /** Set-Cookie values that delete the state cookie(s) holding `state`. */
  private spentCookies(request: Request, state: string): string[] {
    if (!state) return [];
    const secure = this.deps.env.secureCookies ? "; Secure" : "";
    const spent: string[] = [];
    for (const part of (request.headers.get("cookie") ?? "").split(";")) {
      const eq = part.indexOf("=");
      if (eq < 0) continue;
      const name = part.slice(0, eq).trim();
      if (!name.startsWith(`${STATE_COOKIE}:`) || !/^[\w:.-]+$/.test(name)) continue;
      let value: string;
      try {
        value = decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        continue;
      }
      if (new URLSearchParams(value).get("state") === state) {
        spent.push(`${name}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax${secure}`);
      }
    }
    return spent;
  }

  private failure(error: unknown, returnTo: string, cookies: string[] = []): Response {
    const { code, reason } = classify(error);
    const level = code === "failed" ? "error" : "warn";
    this.deps.log[level]({ reason, signInError: code, ...(code === "failed" ? { err: error } : {}) }, "Google sign-in failed");
    const target = new URLSearchParams({ error: `google_${code}` });
    if (returnTo !== "/") target.set("returnTo", returnTo);
    const headers = new Headers({ "Cache-Control": "no-store" });
    for (const cookie of cookies) headers.append("Set-Cookie", cookie);
    return redirect(`/login?${target}`, { headers });
  }
}

/** Maps what the strategy, arctic or our own checks threw to a code the sign-in page explains. */
export function classify(error: unknown): { code: GoogleSignInErrorCode; reason: string } {
  if (error instanceof GoogleSignInError) return { code: error.code, reason: error.reason };
  if (error instanceof OAuth2RequestError) {
    // Either Google redirected back with `error` (RFC 6749 §4.1.2.1) or the token endpoint refused (§5.2).
    if (error.code === "access_denied") return { code: "access_denied", reason: "consent denied" };
    if (error.code === "temporarily_unavailable" || error.code === "server_error") {
      return { code: "unavailable", reason: `provider error ${error.code}` };
    }
    return { code: "provider_error", reason: `provider error ${error.code}` };
  }
  // remix-auth-oauth2: missing state cookie (ReferenceError), state mismatch (RangeError), missing code.
  if (error instanceof RangeError || error instanceof ReferenceError) return { code: "state", reason: error.message };
  if (error instanceof UnexpectedResponseError || error instanceof UnexpectedErrorResponseBodyError) {
    return { code: "unavailable", reason: `token endpoint answered ${error.status}` };
  }
  // arctic wraps network failures in ArcticFetchError (not exported by remix-auth-oauth2).
  if (error instanceof Error && (error.name === "ArcticFetchError" || error.constructor.name === "ArcticFetchError")) {
    return { code: "unavailable", reason: "token endpoint unreachable" };
  }
  if (error instanceof TimeoutError) return { code: "unavailable", reason: error.message };
  return { code: "failed", reason: error instanceof Error ? error.message : String(error) };
}

class TimeoutError extends Error {}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`no answer from Google within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
