/**
 * DPoP at the token endpoint (RFC 9449 §5, §6.2, §8): a proof binds the access token (`token_type` DPoP) and a public
 * client's refresh token; refresh with another key or without a proof is refused; bad proofs are `invalid_dpop_proof`
 * with a security event; the server nonce (`use_dpop_nonce` + `DPoP-Nonce`); `dpop_bound_access_tokens`; the
 * metadata; introspection's `cnf`. And incremental consent: a second code for the same person, client and resource
 * widens the live grant instead of adding one.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { calculateJwkThumbprint } from "jose";
import type { DomainEvents } from "../../server/events.ts";
import { dpopKey, type DpopKey } from "../helpers/dpop.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import {
  basic,
  obtainCode,
  publicClient,
  REDIRECT,
  register,
  signIn,
  startOAuthFixture,
  tokenRequest,
  type OAuthFixture,
  type RegisteredClient,
} from "./oauth-support.ts";

let fx: OAuthFixture;
let tokenUrl: string;
let key: DpopKey;
let jkt: string;
const security: Array<DomainEvents["security.event"]> = [];

beforeAll(async () => {
  // Nonces (on by default at the token endpoint) are off here and tested on their own server below.
  fx = await startOAuthFixture({ email: "dpop-person@example.com", env: { DPOP_NONCE: "off" } });
  fx.server.services.events.on("security.event", (event) => security.push(event));
  tokenUrl = `${fx.app}/api/oauth/token`;
  key = await dpopKey("ES256");
  jkt = await calculateJwkThumbprint(key.publicJwk, "sha256");
});

async function codeExchange(client: RegisteredClient, proof: string | undefined, extra: Record<string, string> = {}, headers: Record<string, string> = {}) {
  const { code, verifier } = await obtainCode(fx.server.url, fx.jar, client.client_id, extra);
  return tokenRequest(
    fx.server.url,
    { grant_type: "authorization_code", code, code_verifier: verifier, client_id: client.client_secret ? undefined : client.client_id, redirect_uri: REDIRECT },
    { headers: { ...(proof ? { DPoP: proof } : {}), ...headers } },
  );
}

function refresh(client: RegisteredClient, refreshToken: string, proof: string | undefined, headers: Record<string, string> = {}) {
  return tokenRequest(
    fx.server.url,
    { grant_type: "refresh_token", refresh_token: refreshToken, client_id: client.client_secret ? undefined : client.client_id },
    { headers: { ...(proof ? { DPoP: proof } : {}), ...headers } },
  );
}

function eventsSince(before: number): Array<[string, string]> {
  return security.slice(before).map((e) => [e.type, String((e.details as { reason?: string } | undefined)?.reason)]);
}

describe("binding at the token endpoint, RFC 9449 §5", () => {
  it("a public client's code exchange with a proof gets a DPoP token; both tokens are bound to the key; refresh keeps the binding", async () => {
    const issued = await codeExchange(fx.client, await key.proof("POST", tokenUrl));
    expect(issued.status, JSON.stringify(issued.body)).toBe(200);
    expect(issued.body.token_type).toBe("DPoP");
    const prisma = fx.server.services.prisma;
    const access = await prisma.accessToken.findMany({ where: { clientId: { not: "" }, dpopJkt: jkt } });
    expect(access.length).toBeGreaterThan(0);
    const refreshRows = await prisma.refreshToken.findMany({ where: { dpopJkt: jkt } });
    expect(refreshRows.length).toBe(1);

    const refreshed = await refresh(fx.client, issued.body.refresh_token as string, await key.proof("POST", tokenUrl));
    expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200);
    expect(refreshed.body.token_type).toBe("DPoP");
    expect(await prisma.refreshToken.count({ where: { dpopJkt: jkt } })).toBe(2);
  });

  it("refuses to refresh a bound refresh token with another key or without a proof, before reuse detection", async () => {
    const issued = await codeExchange(fx.client, await key.proof("POST", tokenUrl));
    const presented = issued.body.refresh_token as string;
    const thief = await dpopKey("ES256");
    let before = security.length;
    const stolen = await refresh(fx.client, presented, await thief.proof("POST", tokenUrl));
    expect([stolen.status, stolen.body.error]).toEqual([400, "invalid_grant"]);
    expect(eventsSince(before)).toEqual([["INVALID_DPOP_PROOF", "refresh_key_mismatch"]]);
    before = security.length;
    const bare = await refresh(fx.client, presented, undefined);
    expect([bare.status, bare.body.error]).toEqual([400, "invalid_grant"]);
    expect(eventsSince(before)).toEqual([["INVALID_DPOP_PROOF", "refresh_without_proof"]]);
    // Neither attempt spent or revoked the token: its holder still refreshes.
    const mine = await refresh(fx.client, presented, await key.proof("POST", tokenUrl));
    expect(mine.status, JSON.stringify(mine.body)).toBe(200);
  });

  it("a confidential client's refresh token is not bound; each access token is bound to the proof sent with its request", async () => {
    const confidential = await register(fx.server.url, publicClient({ token_endpoint_auth_method: "client_secret_basic", client_name: "Confidential DPoP" }));
    const auth = { Authorization: basic(confidential.client_id, confidential.client_secret!) };
    const issued = await codeExchange(confidential, await key.proof("POST", tokenUrl), {}, auth);
    expect(issued.status, JSON.stringify(issued.body)).toBe(200);
    expect(issued.body.token_type).toBe("DPoP");
    const bearer = await refresh(confidential, issued.body.refresh_token as string, undefined, auth);
    expect([bearer.status, bearer.body.token_type]).toEqual([200, "Bearer"]);

    // Introspection (RFC 9449 §6.2): the bound token says token_type DPoP and cnf.jkt; the bearer one neither.
    const introspect = async (token: string) =>
      (await fetch(`${fx.server.url}/api/oauth/introspect`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ token }),
      }).then((r) => r.json())) as Record<string, unknown>;
    const bound = await introspect(issued.body.access_token as string);
    expect(bound).toMatchObject({ active: true, token_type: "DPoP", cnf: { jkt } });
    const plain = await introspect(bearer.body.access_token as string);
    expect(plain).toMatchObject({ active: true, token_type: "Bearer" });
    expect(plain.cnf).toBeUndefined();
  });

  it("refuses bad proofs with invalid_dpop_proof (wrong htu, wrong htm, replayed, two headers) and records each", async () => {
    const replayed = await key.proof("POST", tokenUrl);
    expect((await codeExchange(fx.client, replayed)).status).toBe(200);
    const cases: Array<[string, string]> = [
      ["htu", await key.proof("POST", `${fx.app}/api/oauth/revoke`)],
      ["htm", await key.proof("GET", tokenUrl)],
      ["jti_replay", replayed],
      ["several_headers", `${await key.proof("POST", tokenUrl)}, ${await key.proof("POST", tokenUrl)}`],
    ];
    for (const [reason, proof] of cases) {
      const before = security.length;
      const res = await codeExchange(fx.client, proof);
      expect([reason, res.status, res.body.error]).toEqual([reason, 400, "invalid_dpop_proof"]);
      expect(eventsSince(before)).toEqual([["INVALID_DPOP_PROOF", reason]]);
    }
  });

  it("a client registered with dpop_bound_access_tokens must send a proof (§5.2)", async () => {
    const strict = await register(fx.server.url, publicClient({ dpop_bound_access_tokens: true, client_name: "Strict DPoP" }));
    expect(strict.dpop_bound_access_tokens).toBe(true);
    const res = await codeExchange(strict, undefined);
    expect([res.status, res.body.error]).toEqual([400, "invalid_dpop_proof"]);
    const ok = await codeExchange(strict, await key.proof("POST", tokenUrl));
    expect([ok.status, ok.body.token_type]).toEqual([200, "DPoP"]);
    const invalid = await fetch(`${fx.server.url}/api/oauth/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(publicClient({ dpop_bound_access_tokens: "yes" })),
    });
    expect([invalid.status, ((await invalid.json()) as { error: string }).error]).toEqual([400, "invalid_client_metadata"]);
  });

  it("advertises dpop_signing_alg_values_supported in the authorization server metadata (§5.1)", async () => {
    const metadata = (await fetch(`${fx.server.url}/.well-known/oauth-authorization-server`).then((r) => r.json())) as Record<string, unknown>;
    expect(metadata.dpop_signing_alg_values_supported).toEqual(expect.arrayContaining(["ES256", "EdDSA", "RS256"]));
  });
});

describe("server nonces at the token endpoint, RFC 9449 §8", () => {
  let nonceServer: TestServer;
  afterAll(() => nonceServer?.close());

  it("asks for a nonce with use_dpop_nonce and DPoP-Nonce, accepts the proof carrying it, and sends a fresh one with the tokens", async () => {
    nonceServer = await startTestServer({ RATE_LIMIT_ENABLED: "false", DPOP_NONCE: "token" });
    const client = await register(nonceServer.url, publicClient());
    const jar = await signIn(nonceServer.url, "nonce-person@example.com");
    const url = `${nonceServer.env.APP_URL}/api/oauth/token`;
    const { code, verifier } = await obtainCode(nonceServer.url, jar, client.client_id);
    const params = { grant_type: "authorization_code", code, code_verifier: verifier, client_id: client.client_id, redirect_uri: REDIRECT };
    const first = await tokenRequest(nonceServer.url, params, { headers: { DPoP: await key.proof("POST", url) } });
    expect([first.status, first.body.error]).toEqual([400, "use_dpop_nonce"]);
    const nonce = first.headers.get("dpop-nonce");
    expect(nonce).toBeTruthy();
    // The code was not spent by the refused request.
    const second = await tokenRequest(nonceServer.url, params, { headers: { DPoP: await key.proof("POST", url, { nonce: nonce! }) } });
    expect([second.status, second.body.token_type]).toEqual([200, "DPoP"]);
    expect(second.headers.get("dpop-nonce")).toBeTruthy();
  });
});

describe("incremental consent widens the grant", () => {
  it("a second authorization for more scopes updates the person's live grant to the client instead of adding one", async () => {
    const client = await register(fx.server.url, publicClient({ client_name: "Widening client" }));
    const jar = await signIn(fx.server.url, "widen@example.com");
    const exchange = async (scope: string) => {
      const { code, verifier } = await obtainCode(fx.server.url, jar, client.client_id, { scope });
      const res = await tokenRequest(fx.server.url, { grant_type: "authorization_code", code, code_verifier: verifier, client_id: client.client_id, redirect_uri: REDIRECT });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body;
    };
    const narrow = await exchange("mcp:tools:read");
    expect(narrow.scope).toBe("mcp:tools:read");
    const wide = await exchange("mcp:tools:read mcp:tools:write");
    expect(wide.scope).toBe("mcp:tools:read mcp:tools:write");
    const prisma = fx.server.services.prisma;
    const row = await prisma.client.findUniqueOrThrow({ where: { clientId: client.client_id } });
    const grants = await prisma.grant.findMany({ where: { clientId: row.id, revokedAt: null } });
    expect(grants).toHaveLength(1);
    expect(grants[0]!.scope.split(" ").sort()).toEqual(["mcp:tools:read", "mcp:tools:write"]);
    // Both refresh tokens belong to it and both still work.
    expect(await prisma.refreshToken.count({ where: { grantId: grants[0]!.id } })).toBe(2);
    const again = await tokenRequest(fx.server.url, { grant_type: "refresh_token", refresh_token: narrow.refresh_token as string, client_id: client.client_id });
    expect([again.status, again.body.scope]).toEqual([200, "mcp:tools:read"]);
  });
});
