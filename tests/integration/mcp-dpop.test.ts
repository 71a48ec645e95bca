/**
 * DPoP at the MCP endpoints (RFC 9449 §7): a DPoP-bound token works only with the DPoP scheme and a proof by its key
 * for this request and this token, once; a bound token sent as Bearer is refused (§7.2); errors are DPoP challenges
 * (§7.1: `algs`, the error, `resource_metadata`) and each refused proof is a security event. Also the server nonce
 * (DPOP_NONCE=all, §9) and MCP_DPOP_REQUIRED (`dpop_bound_access_tokens_required`).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { calculateJwkThumbprint } from "jose";
import type { DomainEvents } from "../../server/events.ts";
import { dpopKey, type DpopKey } from "../helpers/dpop.ts";
import { MCP_ACCEPT, toolsCall } from "../helpers/mcp.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { mintAccessToken } from "../helpers/tokens.ts";

let server: TestServer;
let key: DpopKey;
let jkt: string;
let mcpUrl: string;
const security: Array<DomainEvents["security.event"]> = [];

beforeAll(async () => {
  server = await startTestServer({ RATE_LIMIT_ENABLED: "false" });
  server.services.events.on("security.event", (event) => security.push(event));
  key = await dpopKey("ES256");
  jkt = await calculateJwkThumbprint(key.publicJwk, "sha256");
  mcpUrl = `${server.env.APP_URL}/mcp/mcp`;
});

async function call(base: string, headers: Record<string, string>, body: unknown = toolsCall("whoami")): Promise<Response> {
  return fetch(`${base}/mcp/mcp`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: MCP_ACCEPT, "Mcp-Protocol-Version": "2025-11-25", ...headers },
    body: JSON.stringify(body),
  });
}

function challenge(res: Response): string {
  return res.headers.get("www-authenticate") ?? "";
}

describe("DPoP-bound tokens at /mcp/mcp, RFC 9449 §7", () => {
  it("works with the DPoP scheme and a fresh proof by its key for each request", async () => {
    const minted = await mintAccessToken(server.services.prisma, server.env.APP_URL, { dpopJkt: jkt, email: "dpop@example.com" });
    for (let i = 0; i < 2; i += 1) {
      const res = await call(server.url, { Authorization: `DPoP ${minted.token}`, DPoP: await key.proof("POST", mcpUrl, { accessToken: minted.token }) });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { result: { structuredContent: { user: { email: string } } } }).result.structuredContent.user.email).toBe("dpop@example.com");
    }
  });

  it("refuses a copied proof (jti replay), another key, a wrong htu or htm, a missing ath, a stale iat, and no proof; each is an event", async () => {
    const minted = await mintAccessToken(server.services.prisma, server.env.APP_URL, { dpopJkt: jkt });
    const auth = { Authorization: `DPoP ${minted.token}` };
    const replayed = await key.proof("POST", mcpUrl, { accessToken: minted.token });
    expect((await call(server.url, { ...auth, DPoP: replayed })).status).toBe(200);
    const thief = await dpopKey("ES256");
    const cases: Array<[string, Promise<string | undefined>]> = [
      ["jti_replay", Promise.resolve(replayed)],
      ["jkt_mismatch", thief.proof("POST", mcpUrl, { accessToken: minted.token })],
      ["htu", key.proof("POST", `${server.env.APP_URL}/mcp/sse`, { accessToken: minted.token })],
      ["htm", key.proof("GET", mcpUrl, { accessToken: minted.token })],
      ["ath_missing", key.proof("POST", mcpUrl)],
      ["iat_stale", key.proof("POST", mcpUrl, { accessToken: minted.token, iat: Math.floor(Date.now() / 1000) - 600 })],
      ["missing", Promise.resolve(undefined)],
    ];
    for (const [reason, proofPromise] of cases) {
      const proof = await proofPromise;
      const before = security.length;
      const res = await call(server.url, { ...auth, ...(proof ? { DPoP: proof } : {}) });
      expect([reason, res.status]).toEqual([reason, 401]);
      expect(challenge(res)).toMatch(/^DPoP error="invalid_dpop_proof".*algs="ES256 [^"]*".*resource_metadata="[^"]+"/);
      expect(security.slice(before).map((e) => [e.type, (e.details as { reason: string }).reason])).toEqual([["INVALID_DPOP_PROOF", reason]]);
    }
  });

  it("refuses a DPoP-bound token sent as Bearer (§7.2), and an unbound token sent as DPoP", async () => {
    const bound = await mintAccessToken(server.services.prisma, server.env.APP_URL, { dpopJkt: jkt });
    const asBearer = await call(server.url, { Authorization: `Bearer ${bound.token}` });
    expect(asBearer.status).toBe(401);
    expect(challenge(asBearer)).toMatch(/^DPoP error="invalid_token", error_description="The access token is bound to a DPoP key/);
    const plain = await mintAccessToken(server.services.prisma, server.env.APP_URL);
    const asDpop = await call(server.url, { Authorization: `DPoP ${plain.token}`, DPoP: await key.proof("POST", mcpUrl, { accessToken: plain.token }) });
    expect(asDpop.status).toBe(401);
    expect(challenge(asDpop)).toMatch(/error="invalid_token", error_description="The access token is not bound to a DPoP key/);
    // Plain tokens keep working as Bearer.
    expect((await call(server.url, { Authorization: `Bearer ${plain.token}` })).status).toBe(200);
  });

  it("the SSE transport checks proofs too (GET /mcp/sse names its own htm and htu)", async () => {
    const minted = await mintAccessToken(server.services.prisma, server.env.APP_URL, { dpopJkt: jkt });
    const sseUrl = `${server.env.APP_URL}/mcp/sse`;
    const refused = await fetch(`${server.url}/mcp/sse`, { headers: { Accept: "text/event-stream", Authorization: `DPoP ${minted.token}`, DPoP: await key.proof("POST", mcpUrl, { accessToken: minted.token }) } });
    expect(refused.status).toBe(401);
    const controller = new AbortController();
    const stream = await fetch(`${server.url}/mcp/sse`, {
      headers: { Accept: "text/event-stream", Authorization: `DPoP ${minted.token}`, DPoP: await key.proof("GET", sseUrl, { accessToken: minted.token }) },
      signal: controller.signal,
    });
    expect(stream.status).toBe(200);
    controller.abort();
  });

  it("protected resource metadata advertises the proof algorithms", async () => {
    const prm = (await (await fetch(`${server.url}/.well-known/oauth-protected-resource/mcp/mcp`)).json()) as Record<string, unknown>;
    expect(prm.dpop_signing_alg_values_supported).toEqual(expect.arrayContaining(["ES256", "EdDSA", "RS256"]));
    expect(prm).not.toHaveProperty("dpop_bound_access_tokens_required");
  });
});

describe("Server nonces at the resource (DPOP_NONCE=all, RFC 9449 §9) and DPoP required (MCP_DPOP_REQUIRED)", () => {
  it("asks for a nonce with use_dpop_nonce and DPoP-Nonce, then accepts the proof that carries it", async () => {
    const strict = await startTestServer({ RATE_LIMIT_ENABLED: "false", DPOP_NONCE: "all", MCP_DPOP_REQUIRED: "true" });
    const url = `${strict.env.APP_URL}/mcp/mcp`;
    const minted = await mintAccessToken(strict.services.prisma, strict.env.APP_URL, { dpopJkt: jkt });
    const first = await call(strict.url, { Authorization: `DPoP ${minted.token}`, DPoP: await key.proof("POST", url, { accessToken: minted.token }) });
    expect(first.status).toBe(401);
    expect(challenge(first)).toMatch(/^DPoP error="use_dpop_nonce"/);
    const nonce = first.headers.get("dpop-nonce")!;
    expect(nonce).toMatch(/^\d+\.[A-Za-z0-9_-]{43}$/);
    const second = await call(strict.url, { Authorization: `DPoP ${minted.token}`, DPoP: await key.proof("POST", url, { accessToken: minted.token, nonce }) });
    expect(second.status).toBe(200);

    // DPoP required: Bearer tokens are refused with a DPoP challenge, and the metadata says so.
    const plain = await mintAccessToken(strict.services.prisma, strict.env.APP_URL);
    const bearer = await call(strict.url, { Authorization: `Bearer ${plain.token}` });
    expect(bearer.status).toBe(401);
    expect(challenge(bearer)).toMatch(/^DPoP error="invalid_token".*only DPoP-bound/);
    const anonymous = await call(strict.url, {});
    expect(challenge(anonymous)).toMatch(/^DPoP algs=/);
    const prm = (await (await fetch(`${strict.url}/.well-known/oauth-protected-resource/mcp/mcp`)).json()) as Record<string, unknown>;
    expect(prm.dpop_bound_access_tokens_required).toBe(true);
  });
});
