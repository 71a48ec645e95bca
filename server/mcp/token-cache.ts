/**
 * A small in-process cache of verified access tokens, keyed by the token's SHA-256 digest. A digest lookup in
 * Postgres per MCP call costs about a third of the throughput (stack notes), so verified tokens are kept briefly.
 *
 * Entries go away when: their TTL passes (MCP_TOKEN_CACHE_SECONDS, never beyond the token's own expiry); an
 * `oauth.revocation` event names their token, grant, client or user (from this node, or from another node through
 * Redis); or the cache is full (oldest first). A lookup that started before an invalidation is not cached, so a
 * revocation racing a database read cannot leave a revoked token cached.
 */

export interface RevocationIds {
  grantIds?: string[];
  accessTokenIds?: string[];
  clientIds?: string[];
  userIds?: string[];
}

export interface CacheableToken {
  tokenId: string;
  grantId: string;
  /** Internal id of the client row. */
  clientDbId: string;
  /** The public `client_id` (revocation events may name a client either way). */
  clientId: string;
  /** Null for a machine client's token (client_credentials). */
  userId: string | null;
  expiresAt: Date;
}

interface Entry<T> {
  value: T;
  until: number;
}

export class TokenCache<T extends CacheableToken> {
  private readonly entries = new Map<string, Entry<T>>();
  /** Bumped by every invalidation; a lookup that saw an older generation is not cached. */
  private generationCounter = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  get generation(): number {
    return this.generationCounter;
  }

  get size(): number {
    return this.entries.size;
  }

  get(digest: string, now = Date.now()): T | undefined {
    const entry = this.entries.get(digest);
    if (!entry) return undefined;
    if (entry.until <= now) {
      this.entries.delete(digest);
      return undefined;
    }
    return entry.value;
  }

  /** Caches a verified token unless an invalidation happened since `generation` was read. */
  set(digest: string, value: T, generation: number, now = Date.now()): void {
    if (this.ttlMs <= 0 || generation !== this.generationCounter) return;
    const until = Math.min(now + this.ttlMs, value.expiresAt.getTime());
    if (until <= now) return;
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(digest, { value, until });
  }

  /** Drops every entry matching any of the ids; returns how many were dropped. */
  invalidate(ids: RevocationIds): number {
    this.generationCounter += 1;
    const tokens = new Set(ids.accessTokenIds ?? []);
    const grants = new Set(ids.grantIds ?? []);
    const clients = new Set(ids.clientIds ?? []);
    const users = new Set(ids.userIds ?? []);
    let dropped = 0;
    for (const [digest, { value }] of this.entries) {
      if (
        tokens.has(value.tokenId) ||
        grants.has(value.grantId) ||
        clients.has(value.clientDbId) ||
        clients.has(value.clientId) ||
        (value.userId !== null && users.has(value.userId))
      ) {
        this.entries.delete(digest);
        dropped += 1;
      }
    }
    return dropped;
  }

  clear(): void {
    this.generationCounter += 1;
    this.entries.clear();
  }
}
