/**
 * A local stand-in for Google's OpenID provider (never the real Google): discovery, an authorization endpoint that
 * answers at once (no consent screen) for a configurable profile, a token endpoint that checks the client's
 * credentials, the redirect URI and PKCE S256 (RFC 7636 §4.6), and a UserInfo endpoint.
 *
 * `fake.next` decides what the next authorization does: sign in `fake.profile`, or deny consent (`access_denied`).
 * `fake.down` makes every endpoint answer 503, as an outage would.
 */
import { createHash, randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeGoogleProfile {
  sub: string;
  email: string;
  email_verified: boolean;
  name?: string;
  picture?: string;
}

export interface FakeGoogleRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  authorization?: string;
}

export interface FakeGoogle {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** The profile the next authorization signs in. */
  profile: FakeGoogleProfile;
  /** What the next authorization does. */
  next: "approve" | "deny";
  /** Every endpoint answers 503 while true. */
  down: boolean;
  /** Requests received, newest last (for assertions on what our server sent). */
  requests: FakeGoogleRequest[];
  /** Env for startTestServer: GOOGLE_ISSUER and the client credentials. */
  env: Record<string, string>;
  close(): Promise<void>;
}

interface IssuedCode {
  clientId: string;
  redirectUri: string;
  codeChallenge: string;
  profile: FakeGoogleProfile;
}

export async function startFakeGoogle(
  options: { clientId?: string; clientSecret?: string; profile?: Partial<FakeGoogleProfile> } = {},
): Promise<FakeGoogle> {
  const codes = new Map<string, IssuedCode>();
  const accessTokens = new Map<string, FakeGoogleProfile>();
  const clientId = options.clientId ?? "fake-client-id.apps.googleusercontent.com";
  const clientSecret = options.clientSecret ?? "fake-client-secret";

  const server = http.createServer((req, res) => {
    void handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, { error: "server_error" });
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const url = new URL(req.url ?? "/", fake.issuer);
    const body = req.method === "POST" ? await readForm(req) : new URLSearchParams();
    const params = Object.fromEntries([...url.searchParams, ...body]);
    fake.requests.push({ method: req.method ?? "GET", path: url.pathname, params, authorization: req.headers.authorization });
    if (fake.down) return send(res, 503, { error: "temporarily_unavailable" });

    switch (url.pathname) {
      case "/.well-known/openid-configuration":
        return send(res, 200, {
          issuer: fake.issuer,
          authorization_endpoint: `${fake.issuer}/o/oauth2/v2/auth`,
          token_endpoint: `${fake.issuer}/token`,
          userinfo_endpoint: `${fake.issuer}/v1/userinfo`,
          jwks_uri: `${fake.issuer}/oauth2/v3/certs`,
          response_types_supported: ["code"],
          subject_types_supported: ["public"],
          id_token_signing_alg_values_supported: ["RS256"],
          scopes_supported: ["openid", "email", "profile"],
          code_challenge_methods_supported: ["plain", "S256"],
        });
      case "/o/oauth2/v2/auth":
        return authorize(url.searchParams, res);
      case "/token":
        return token(req, body, res);
      case "/v1/userinfo": {
        const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
        const profile = bearer ? accessTokens.get(bearer) : undefined;
        if (!profile) return send(res, 401, { error: "invalid_token" });
        return send(res, 200, profile);
      }
      default:
        return send(res, 404, { error: "not_found" });
    }
  }

  function authorize(query: URLSearchParams, res: http.ServerResponse) {
    const redirectUri = query.get("redirect_uri");
    if (query.get("client_id") !== clientId || !redirectUri) {
      return send(res, 400, { error: "invalid_request", error_description: "unknown client or no redirect_uri" });
    }
    const back = new URL(redirectUri);
    const state = query.get("state");
    if (state) back.searchParams.set("state", state);
    const challenge = query.get("code_challenge");
    const scopes = (query.get("scope") ?? "").split(" ");
    if (query.get("response_type") !== "code" || !challenge || query.get("code_challenge_method") !== "S256" || !scopes.includes("email")) {
      back.searchParams.set("error", "invalid_request");
    } else if (fake.next === "deny") {
      back.searchParams.set("error", "access_denied");
    } else {
      const code = `4/${randomBytes(16).toString("base64url")}`;
      codes.set(code, { clientId, redirectUri, codeChallenge: challenge, profile: { ...fake.profile } });
      back.searchParams.set("code", code);
      back.searchParams.set("scope", "email profile openid");
    }
    res.writeHead(302, { location: back.toString() }).end();
  }

  function token(req: http.IncomingMessage, form: URLSearchParams, res: http.ServerResponse) {
    // client_secret_basic (RFC 6749 §2.3.1) or client_secret_post.
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    const [id, secret] = basic
      ? Buffer.from(basic, "base64").toString("utf8").split(":").map(decodeURIComponent)
      : [form.get("client_id"), form.get("client_secret")];
    if (id !== clientId || secret !== clientSecret) return send(res, 401, { error: "invalid_client" });
    if (form.get("grant_type") !== "authorization_code") return send(res, 400, { error: "unsupported_grant_type" });
    const code = form.get("code") ?? "";
    const issued = codes.get(code);
    codes.delete(code);
    if (!issued || issued.redirectUri !== form.get("redirect_uri")) return send(res, 400, { error: "invalid_grant" });
    const verifier = form.get("code_verifier") ?? "";
    if (createHash("sha256").update(verifier).digest("base64url") !== issued.codeChallenge) {
      return send(res, 400, { error: "invalid_grant", error_description: "code_verifier does not match" });
    }
    const accessToken = `ya29.${randomBytes(24).toString("base64url")}`;
    accessTokens.set(accessToken, issued.profile);
    return send(res, 200, {
      access_token: accessToken,
      token_type: "Bearer",
      expires_in: 3599,
      scope: "openid https://www.googleapis.com/auth/userinfo.email https://www.googleapis.com/auth/userinfo.profile",
    });
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const fake: FakeGoogle = {
    issuer,
    clientId,
    clientSecret,
    profile: {
      sub: "108234567890123456789",
      email: "person@example.com",
      email_verified: true,
      name: "Pat Person",
      picture: "https://lh3.googleusercontent.com/a/photo",
      ...options.profile,
    },
    next: "approve",
    down: false,
    requests: [],
    env: { GOOGLE_ISSUER: issuer, GOOGLE_CLIENT_ID: clientId, GOOGLE_CLIENT_SECRET: clientSecret },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return fake;
}

function send(res: http.ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" }).end(JSON.stringify(body));
}

async function readForm(req: http.IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}
