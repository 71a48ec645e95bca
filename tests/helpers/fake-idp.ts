/**
 * Outside parties of the machine-client and enterprise tests, with real keys (jose) and a real HTTP server:
 *
 * - `KeyHolder`: a party with signing keys and a JWK Set served over HTTP on loopback (`/jwks`): a machine client
 *   (private_key_jwt) or an enterprise identity provider. `rotate()` adds a new key under a new `kid`.
 * - `FakeIdentityProvider`: a KeyHolder that issues ID-JAGs (`typ` `oauth-id-jag+jwt`) for its people.
 * - `hostedNetwork(...)`: the internet as the server's SSRF-guarded fetch sees it: `https://<name>.example/...` is
 *   resolved to a public address and answered by the holder's loopback HTTP server. The guard itself runs unchanged
 *   (https only, public addresses, no redirects, size and time limits).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from "jose";
import { afterAll } from "vitest";
import type { Resolver, Transport } from "../../server/oauth/ssrf-guard.ts";

type Alg = "ES256" | "RS256" | "EdDSA" | "PS256";

export interface Key {
  kid: string;
  alg: Alg;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

const servers: http.Server[] = [];
afterAll(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

export class KeyHolder {
  readonly keys: Key[] = [];
  /** Requests the JWK Set endpoint received. */
  jwksRequests = 0;
  private server?: http.Server;
  private port = 0;

  /** `host` is the name this party's https URLs use (e.g. `idp.example`). */
  constructor(readonly host: string) {}

  get jwksUri(): string {
    return `https://${this.host}/jwks`;
  }

  jwks(): { keys: JWK[] } {
    return { keys: this.keys.map((k) => k.publicJwk) };
  }

  /** Adds a key (the newest signs from now on). */
  async rotate(alg: Alg = "ES256"): Promise<Key> {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    const kid = `${alg.toLowerCase()}-${randomUUID().slice(0, 8)}`;
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: "sig" };
    const key = { kid, alg, privateKey, publicJwk };
    this.keys.push(key);
    return key;
  }

  get current(): Key {
    return this.keys[this.keys.length - 1];
  }

  /** Serves the JWK Set on a loopback port. */
  async listen(): Promise<this> {
    this.server = http.createServer((req, res) => {
      if (req.url === "/jwks") {
        this.jwksRequests += 1;
        res.writeHead(200, { "content-type": "application/jwk-set+json" });
        res.end(JSON.stringify(this.jwks()));
        return;
      }
      res.writeHead(404).end();
    });
    servers.push(this.server);
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  get localUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Signs `claims` with the current key (or `key`). */
  async sign(claims: JWTPayload, header: { typ?: string; kid?: string } = {}, key: Key = this.current): Promise<string> {
    return new SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: header.kid ?? key.kid, ...(header.typ ? { typ: header.typ } : {}) }).sign(key.privateKey);
  }
}

/** A machine client's RFC 7523 §2.2 assertion: iss = sub = client_id, aud, exp in 60 s, a fresh jti. */
export async function clientAssertion(holder: KeyHolder, clientId: string, aud: string, overrides: JWTPayload = {}, key: Key = holder.current): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const claims: JWTPayload = { iss: clientId, sub: clientId, aud, iat: now, exp: now + 60, jti: randomUUID(), ...overrides };
  for (const [k, v] of Object.entries(claims)) if (v === undefined) delete claims[k];
  return holder.sign(claims, { typ: "JWT" }, key);
}

export class FakeIdentityProvider extends KeyHolder {
  get issuer(): string {
    return `https://${this.host}`;
  }

  /**
   * An ID-JAG (ext-auth enterprise-managed authorization §4.3) for the person `email`, issued to `clientId` for
   * the authorization server `aud` and the MCP server `resource`. `overrides` replace claims (undefined removes one).
   */
  async idJag(input: { email: string; clientId: string; aud: string; resource?: string; scope?: string }, overrides: Record<string, unknown> = {}, typ = "oauth-id-jag+jwt"): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const claims: Record<string, unknown> = {
      iss: this.issuer,
      sub: `U-${input.email}`,
      email: input.email,
      aud: input.aud,
      client_id: input.clientId,
      resource: input.resource,
      jti: randomUUID(),
      iat: now,
      exp: now + 300,
      ...(input.scope ? { scope: input.scope } : {}),
      ...overrides,
    };
    for (const [k, v] of Object.entries(claims)) if (v === undefined) delete claims[k];
    return this.sign(claims as JWTPayload, { typ });
  }
}

/** The internet for the server's guarded fetches: each holder's `https://<host>/…` is answered by its loopback server. */
export function hostedNetwork(...holders: KeyHolder[]): { resolver: Resolver; transport: Transport } {
  const byHost = new Map(holders.map((h) => [h.host, h]));
  const resolver: Resolver = async (host) => {
    if (byHost.has(host)) return [{ address: "93.184.215.14", family: 4 }];
    if (host === "internal.example") return [{ address: "10.0.0.8", family: 4 }];
    throw new Error("NXDOMAIN");
  };
  const transport: Transport = async ({ url, signal }) => {
    const holder = byHost.get(url.hostname)!;
    const res = await fetch(holder.localUrl + url.pathname + url.search, { signal, redirect: "manual" });
    return {
      status: res.status,
      headers: { "content-type": res.headers.get("content-type") ?? undefined, "content-length": res.headers.get("content-length") ?? undefined },
      body: (res.body ?? (async function* () {})()) as AsyncIterable<Uint8Array>,
      close() {
        res.body?.cancel().catch(() => {});
      },
    };
  };
  return { resolver, transport };
}
