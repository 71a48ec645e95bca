/**
 * The one place the authorization server emits domain events (server/events.ts). server/analytics turns them into
 * metrics and rows; the MCP token cache listens to `oauth.revocation`. Payloads carry ids, never a token, code or
 * secret. Client and user ids are database ids (Client.id, User.id), the same ids the token rows reference.
 */
import type { DomainEventBus, DomainEvents, EventOrigin } from "../events.ts";
import type { OAuthError, SecurityNote } from "./errors.ts";

export type AuthorizeOutcome = DomainEvents["oauth.authorize"]["outcome"];
export type RevokedKind = DomainEvents["oauth.token.revoked"]["kind"];

export interface Revoked {
  grantIds?: string[];
  accessTokenIds?: string[];
  clientIds?: string[];
  userIds?: string[];
}

export class OAuthEvents {
  constructor(private readonly events: DomainEventBus) {}

  clientRegistered(clientDbId: string, kind: DomainEvents["oauth.client.registered"]["kind"]): void {
    this.events.emit("oauth.client.registered", { clientId: clientDbId, kind });
  }

  clientsSwept(count: number): void {
    if (count > 0) this.events.emit("oauth.client.swept", { count });
  }

  authorize(origin: EventOrigin, outcome: AuthorizeOutcome, error?: string): void {
    this.events.emit("oauth.authorize", { ...origin, outcome, ...(error ? { error } : {}) });
  }

  tokenIssued(origin: EventOrigin, grantType: string, refreshToken: boolean): void {
    this.events.emit("oauth.token.issued", { ...origin, grantType, refreshToken });
  }

  tokenRefreshed(origin: EventOrigin, reusedWithinGrace: boolean): void {
    this.events.emit("oauth.token.refreshed", { ...origin, reusedWithinGrace });
  }

  /**
   * Tokens stopped being valid early. ALWAYS pairs `oauth.revocation` (cache invalidation on every node) with
   * `oauth.token.revoked` (the metric), so no revocation path can forget the cache.
   */
  revoked(origin: EventOrigin, kind: RevokedKind, count: number, ids: Revoked): void {
    const payload: DomainEvents["oauth.revocation"] = {};
    for (const key of ["grantIds", "accessTokenIds", "clientIds", "userIds"] as const) {
      const list = ids[key];
      if (list && list.length > 0) payload[key] = [...new Set(list)];
    }
    if (Object.keys(payload).length > 0) this.events.emit("oauth.revocation", payload);
    if (count > 0) this.events.emit("oauth.token.revoked", { ...origin, kind, count });
  }

  /** A failed token/registration/revocation/introspection request, plus its security event if it carries one. */
  grantError(origin: EventOrigin, error: OAuthError, grantType?: string): void {
    this.events.emit("oauth.grant.error", {
      ...origin,
      ...(grantType ? { grantType } : {}),
      error: error.error,
      reason: error.reason,
    });
    if (error.security) this.security(origin, error.security);
  }

  security(origin: EventOrigin, note: SecurityNote): void {
    this.events.emit("security.event", { ...origin, ...note });
  }
}
