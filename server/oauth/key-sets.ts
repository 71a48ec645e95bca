/**
 * The public keys that verify JWTs other parties sign: a machine client's `private_key_jwt` assertions (RFC 7523
 * §2.2; its `jwks` or `jwks_uri`, RFC 7591 §2) and a trusted identity provider's ID-JAGs.
 *
 * - A JWK Set given inline is used as is (`jose.createLocalJWKSet`).
 * - A `jwks_uri` is fetched through the SSRF guard (ssrf-guard.ts: https only, public addresses, no redirects, a
 *   size cap and a deadline), cached for `ttlMs`, and fetched again when a JWT names a `kid` the cached set lacks
 *   (key rotation, RFC 7517 §4.5) — at most once per `cooldownMs` per URL, so a stream of made-up `kid`s cannot make
 *   this server hammer someone else's endpoint. Concurrent fetches of one URL share one request.
 *
 * Failures are `KeySetError`s with a short reason; the callers turn them into their own OAuth error.
 */
import { createLocalJWKSet, errors as joseErrors, type JSONWebKeySet, type JWTVerifyGetKey } from "jose";
import { guardedFetch, GuardedFetchError, type GuardedFetchOptions } from "./ssrf-guard.ts";

export const KEY_SET_LIMITS = { ttlMs: 5 * 60_000, cooldownMs: 30_000, maxBytes: 64 * 1024, maxEntries: 1_000, maxKeys: 50 } as const;

/** Where a party's keys are: exactly one of the two. */
export interface KeySource {
  jwks?: unknown;
  jwksUri?: string | null;
}

export class KeySetError extends Error {
  constructor(
    readonly reason: "no_keys" | "unknown_kid" | "fetch_failed" | "invalid_jwks",
    message: string,
  ) {
    super(message);
    this.name = "KeySetError";
  }
}

/** Checks the shape of a JWK Set (RFC 7517 §5): `{ keys: [...] }` of public keys only. Returns it or throws. */
export function parseJwks(value: unknown): JSONWebKeySet {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new KeySetError("invalid_jwks", "the JWK Set is not a JSON object");
  const keys = (value as { keys?: unknown }).keys;
  if (!Array.isArray(keys) || keys.length === 0) throw new KeySetError("invalid_jwks", "the JWK Set has no keys");
  if (keys.length > KEY_SET_LIMITS.maxKeys) throw new KeySetError("invalid_jwks", `the JWK Set has more than ${KEY_SET_LIMITS.maxKeys} keys`);
  for (const key of keys) {
    if (typeof key !== "object" || key === null || typeof (key as { kty?: unknown }).kty !== "string") {
      throw new KeySetError("invalid_jwks", "every key needs a kty");
    }
    // RFC 7518 §6.2.2.1 / §6.3.2.1, RFC 8037 §2: a private key has `d`; a symmetric key is `oct`. Neither belongs here.
    if ("d" in key || (key as { kty: string }).kty === "oct") throw new KeySetError("invalid_jwks", "the JWK Set must hold public keys only");
  }
  return { keys } as JSONWebKeySet;
}

interface Entry {
  fetchedAt: number;
  verify: JWTVerifyGetKey;
}

export class KeySets {
  private readonly remote = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<Entry>>();

  constructor(private options: GuardedFetchOptions & { ttlMs?: number; cooldownMs?: number } = {}) {}

  /** Replaces how the outside world is reached (tests stand in for the internet; the guard's checks still run). */
  useNetwork(network: Pick<GuardedFetchOptions, "resolver" | "transport" | "timeoutMs"> & { cooldownMs?: number }): void {
    this.options = { ...this.options, ...network };
    this.remote.clear();
  }

  /** Forgets a cached remote set (an admin changed the keys' URL). */
  forget(uri: string): void {
    this.remote.delete(uri);
  }

  /**
   * A key resolver for `jose.jwtVerify`: finds the key the JWT's header names (`kid`, `alg`), fetching the remote
   * set again once when the `kid` is unknown and the cooldown allows.
   */
  resolver(source: KeySource): JWTVerifyGetKey {
    if (source.jwksUri) {
      const uri = source.jwksUri;
      return async (header, token) => {
        const now = Date.now();
        let entry = await this.load(uri, now, false);
        try {
          return await entry.verify(header, token);
        } catch (error) {
          if (!(error instanceof joseErrors.JWKSNoMatchingKey)) throw error;
          if (now - entry.fetchedAt < (this.options.cooldownMs ?? KEY_SET_LIMITS.cooldownMs)) {
            throw new KeySetError("unknown_kid", "no key in the JWK Set matches the JWT's kid and alg");
          }
          entry = await this.load(uri, now, true);
          try {
            return await entry.verify(header, token);
          } catch (again) {
            if (again instanceof joseErrors.JWKSNoMatchingKey) throw new KeySetError("unknown_kid", "no key in the JWK Set matches the JWT's kid and alg");
            throw again;
          }
        }
      };
    }
    if (source.jwks !== undefined && source.jwks !== null) {
      const local = createLocalJWKSet(parseJwks(source.jwks));
      return async (header, token) => {
        try {
          return await local(header, token);
        } catch (error) {
          if (error instanceof joseErrors.JWKSNoMatchingKey) throw new KeySetError("unknown_kid", "no key in the JWK Set matches the JWT's kid and alg");
          throw error;
        }
      };
    }
    return async () => {
      throw new KeySetError("no_keys", "no keys are registered");
    };
  }

  private async load(uri: string, now: number, refresh: boolean): Promise<Entry> {
    const cached = this.remote.get(uri);
    if (cached && !refresh && now - cached.fetchedAt < (this.options.ttlMs ?? KEY_SET_LIMITS.ttlMs)) return cached;
    const pending = this.inFlight.get(uri);
    if (pending) return pending;
    const loading = this.fetchSet(uri, now).finally(() => this.inFlight.delete(uri));
    this.inFlight.set(uri, loading);
    return loading;
  }

  private async fetchSet(uri: string, now: number): Promise<Entry> {
    let text: string;
    try {
      ({ text } = await guardedFetch(uri, { maxBytes: KEY_SET_LIMITS.maxBytes, ...this.options, accept: "application/jwk-set+json, application/json" }));
    } catch (error) {
      const detail = error instanceof GuardedFetchError ? `${error.failure}: ${error.message}` : "could not be fetched";
      throw new KeySetError("fetch_failed", `the JWK Set could not be fetched (${detail})`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new KeySetError("invalid_jwks", "the JWK Set is not JSON");
    }
    const entry: Entry = { fetchedAt: now, verify: createLocalJWKSet(parseJwks(json)) };
    this.remote.set(uri, entry);
    while (this.remote.size > KEY_SET_LIMITS.maxEntries) this.remote.delete(this.remote.keys().next().value as string);
    return entry;
  }
}
